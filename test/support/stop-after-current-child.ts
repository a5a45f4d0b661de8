// A command whose step never ends (like a suite stuck on a hung lab host): it
// uses stopAfterCurrent and says `ready`; the test signals it.
import { stopAfterCurrent } from '../../lib/cli/cli-kit.js';

stopAfterCurrent('step');
console.log('ready');
setInterval(() => {}, 1_000);
