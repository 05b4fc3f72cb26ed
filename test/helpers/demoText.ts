import { writeFileSync } from 'node:fs';

/** A small (prompt, response, reward) JSONL file of short dialogues, for tests that need a dataset to train a tokenizer on. */
export function writeDialogues(file: string, rows = 200): string {
  const topics = ['apples', 'rivers', 'trains', 'music', 'gardens', 'numbers', 'clouds', 'books'];
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const topic = topics[i % topics.length] ?? 'things';
    lines.push(
      JSON.stringify({
        prompt: `\n\nHuman: Tell me something about ${topic}, please.\n\nAssistant:`,
        response: ` Here is a fact about ${topic}: number ${i} is ${i % 2 === 0 ? 'even' : 'odd'}.`,
        reward: (i % 10) / 10,
      }),
    );
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
