/**
 * `promise`, or the error `onTimeout` makes if it has not settled within `ms`.
 * The timer is cleared either way, so it never holds the process open. The
 * promise itself is not cancelled: whoever owns it stops it (onTimeout may).
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
