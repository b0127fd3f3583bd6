/**
 * Preloaded into a measured child process (`node --import <this> …`): on exit it prints the
 * process's peak resident set size, which the parent reads from stderr.
 */
process.on('exit', () => {
  process.stderr.write(`\nKURABAN_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
