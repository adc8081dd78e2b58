// Preloaded into a benchmarked edge (node --expose-gc --require this): on the message "gc" from the
// parent (fork's IPC channel) it runs two full collections and answers with process.memoryUsage(),
// so a benchmark can report the heap after a forced GC of the real `blotcdn start`.
process.on('message', (message) => {
  if (message !== 'gc' || typeof globalThis.gc !== 'function') return;
  globalThis.gc();
  globalThis.gc();
  process.send({ usage: process.memoryUsage() });
});
