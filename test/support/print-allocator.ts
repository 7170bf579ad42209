import { readFileSync } from 'node:fs';

// Run through src/bin/run-node.sh by test/allocator.test.ts: prints the allocator this process got, as the kernel
// and the environment show it.
const mapped = readFileSync('/proc/self/maps', 'utf8').includes('/libjemalloc.so');
const malloc = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('MALLOC_')));
console.log(JSON.stringify({ jemalloc: mapped, malloc }));
