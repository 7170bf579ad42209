import { proxyActivities, sleep } from '@temporalio/workflow';

// Test-only workflows for the foundation tests.
const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10 seconds' });

export async function greetNow(name: string): Promise<string> {
  return greet(name);
}

export async function sleepADay(name: string): Promise<string> {
  await sleep('1 day');
  return greet(name);
}
