/** The floor bench's one activity: a model turn that costs nothing but its latency. */
export async function wait(ms: number): Promise<{ start: number; end: number }> {
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { start, end: Date.now() };
}
