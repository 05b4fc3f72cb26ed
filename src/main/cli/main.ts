/**
 * `alol`: the studio from a terminal. Each command is a call through the same contract and
 * services the UI uses (a third adapter beside IPC and HTTP); human output by default, --json for
 * scripts, exit code 1 on failure and 2 on a usage error. Each command declares its own flags, so
 * a flag that means nothing to it is refused rather than ignored.
 */
import { parseArgs } from 'node:util';
import { createBackend } from '../app/backend';
import { requestedTensorBackend } from '../lm/tensorBackend';
import { resolveProjectDir } from '../core/project';
import { serveFromArgs, SERVE_USAGE } from '../http/serveFromArgs';
import { importFormats } from '../../shared/contract';
import { errorShape } from '../core/errors';
import { common, text, UsageError, type Command } from './kit';
import { ratingCommands } from './commands/rating';
import { reportCommand } from './commands/report';
import { dataCommands } from './commands/data';
import { doctorCommands } from './commands/doctor';
import { modelsCommands } from './commands/models';
import { runsCommands } from './commands/runs';
import { samplesCommands } from './commands/samples';

const USAGE = `A-LoL Studio command line

Usage: alol <command> [options]

Data:
  import FILE --name NAME [--format F]   import (prompt, response, reward) rows or preference pairs
         formats: ${importFormats.join(', ')}; .gz accepted
         field mapping: --prompt-field --response-field --reward-field --chosen-field
                        --rejected-field --completion-field --label-field
  datasets                               list datasets (latest version of each)
  demo data --name NAME [--seed 1] [--prompts 400]
                                         generate the built-in demo task as a dataset
  show DATASET [--version V] [--limit N] [--offset N]
                                         show a dataset's summary, examples and pairs
Models:
  models                                 list models
  model new --name N --data DATASET [--version V] [--arch gpt2|llama] [--layers 2 --dim 128 --heads 4 --context 128 --vocab 512 --seed 0]
            [--kv-heads H --ffn F]       (llama: key/value heads, default --heads; MLP width, default 8/3 dim)
                                         train a tokenizer on a dataset and initialise a GPT-2 or Llama model
  model import DIR --name N              import a Hugging Face folder: GPT-2, Llama, Qwen2 or Mistral
  model export N DIR [--dtype f32|bf16]  write a model as a Hugging Face folder (weights in F32 or BF16)
  model merge N --adapter DIR --out NEW  merge a PEFT LoRA adapter folder into model N (W + alpha/r B A)
  tokenize --model N --text T            token ids of a text
  logprobs --model N (--text T | --ids 1,2,3)
                                         log p(ids[i+1] | ids[0..i]) for every position
  generate --model N --prompt T [--prompt T2 ...] [--max-new-tokens 64] [--greedy | --temperature 1
           --top-k 0 --top-p 1] [--repetition-penalty 1] [--stop S ...] [--seed 0] [--format raw|chat]
                                         decode (greedy unless a sampling flag is given; the prompt as it is
                                         unless --format chat renders it through the model's chat template)
Sampling and scoring:
  sample --model M (--prompts DATASET[:split] | --prompts-file FILE.jsonl) [--n K] [--greedy | --temperature
         --top-k --top-p] [--max-new-tokens 64] [--seed S] [--reward demo] [--out FILE.jsonl] [--format chat|raw]
                                         sample responses into the project (and a JSONL file); --format:
                                         chat (the model's chat template) or raw HH text, default chat
                                         where the model has a template
  score (--dataset DATASET | --file FILE.jsonl) --reward demo|module:FILE.mjs|rm:NAME|A*w+B*w
                                         score responses with a reward function
Training:
  train --algo A --data DATASET --init MODEL [--ref MODEL] --out NAME [--steps --batch --grad-accum --lr
        --eps --beta --kl-beta --seed --reward demo|column|label|rm:NAME|FILE.mjs --value-decodes K ...]
        [--pairs both|chosen|rejected]   (a pairs dataset's responses as single responses, e.g. --reward label)
        [--format chat|raw]              (chat: the init model's chat template, only the response trains;
                                         default chat where the init model has a template, else raw)
        [--lora-r 8 --lora-alpha 16 --lora-dropout 0.05 --lora-targets q,k,v,o,gate,up,down]
                                         (LoRA adapters on the frozen init model, which is pi_ref; GPT-2:
                                         q,k,v are its one fused c_attn, given together, and it has no gate)
                                         train with A-LoL, a variant or a baseline (alol train --help)
  runs                                   list runs
  run show ID | run resume ID | run cancel ID
Rating:
  campaign create --name C --models M1,M2[,..|sample:JOB|data:DATASET] --prompts DATASET[:split] --n N [--overlap K --gold G
                  --repeat-swapped R --seed S --guidelines FILE.md --gold-file GOLD.jsonl --max-new-tokens T
                  --format chat|raw]     (default: each model's own, chat where it has a chat template)
                                         a campaign of blinded pairwise comparisons (samples what is missing)
  campaign create --name C --pairs DATASET[:split] --n N|all [--overlap K --gold G ...]
                                         relabel a dataset's own pairs (chosen against rejected, blinded)
  campaigns | campaign show C | campaign items C [--flagged --skipped --disagreement --annotator A]
                                         list; progress and agreement; items with their systems (filtered: with every rating)
  annotator add NAME --campaign C [--host H --port P] [--no-link]
                                         add an annotator and print their personal rating link
                                         (--host 0.0.0.0: one link per network address of this machine)
  annotator revoke NAME --campaign C     revoke an annotator's personal link (their ratings stay)
  serve --campaign C [--host H --port P] serve the studio and the rating links (--host 0.0.0.0 for the local network)
                                         until Ctrl-C or SIGTERM; links survive a restart on the same port
  ratings export C --format raw|trl-preference|trl-unpaired|rewards --out FILE [--criterion helpful|safe|both
                  --rule R --helpful-weight W]
  ratings import C FILE                  ratings in the raw format, collected elsewhere
  rewards from-ratings C --name DATASET [--rule absolute|absolute-safety-gates|weighted|safety-gates|both-bad-excluded --helpful-weight 0.5]
                                         a (prompt, response, reward) dataset from the ratings
  rewards model C --name RM [--base MODEL --rule R --epochs 20 --held-out 0.2 --seed 0 --format chat|raw]
                                         a reward model on the rated pairs (held-out accuracy); use it as --reward rm:RM
  rewards model --dataset DATASET[:split] --name RM --base MODEL [--epochs 20 --held-out 0.2 --seed 0 --format chat|raw]
                                         the same on a dataset's own pairs (default: its train split)
  retrain --campaign C [--algo a_lol --ref MODEL --out NAME --steps 100 --lr 2e-3 --rule R --next-campaign C2 --force --plan]
                                         ratings -> rewards -> A-LoL from the reference -> a campaign of new vs reference
                                         (below the minimum evidence it refuses, naming the numbers, unless --force;
                                         --plan says the names it would make and the evidence, and starts nothing)
Results:
  report --out FILE.html [--campaign C] [--seed 0 --reps 500]
                                         win rates, leaderboard, agreement, rewards, diversity and training curves as one HTML file
Studio:
  doctor                                 Node, tensor backend and why, GPU, Electron, project
  studio ${SERVE_USAGE}
                                         serve the studio UI on http://127.0.0.1

Options for every command:
  --project DIR    the studio project folder (default: ALOL_PROJECT, else the XDG data folder)
  --backend NAME   tensor backend: tensorflow-gpu, webgpu, tensorflow, wasm, cpu (default: ALOL_BACKEND, else best available)
  --json           machine-readable output on stdout
  -h, --help       this help
`;

const commands: Record<string, Command> = {
  ...dataCommands,
  ...modelsCommands,
  ...runsCommands,
  ...samplesCommands,
  ...ratingCommands,
  report: reportCommand,
  ...doctorCommands,
};

async function main(argv: string[]): Promise<void> {
  const [first, second, ...rest] = argv;
  // Resolves only once the server has shut down (SIGINT/SIGTERM), so the exit below ends a finished server.
  if (first === 'studio' || first === 'serve') return serveFromArgs(argv.slice(1));
  if (first === undefined || ['help', '--help', '-h'].includes(first)) {
    console.log(USAGE);
    return;
  }
  // Two-word commands ("model new") first, then one-word ones.
  const twoWords = `${first} ${second ?? ''}`;
  const [name, args] = twoWords in commands ? [twoWords, rest] : [first, argv.slice(1)];
  const command = commands[name];
  if (!command)
    throw new UsageError(`unknown command "${first === 'model' ? twoWords.trim() : first}"; see alol --help`);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, ...command.options },
  });
  if (values.help) {
    console.log(command.help?.() ?? USAGE);
    return;
  }
  const backend = createBackend({
    projectDir: resolveProjectDir(text(values, 'project')),
    shell: 'cli',
    forcedTensorBackend: requestedTensorBackend(text(values, 'backend'), process.env),
  });
  try {
    await command.run(backend, values, positionals);
  } finally {
    backend.close();
  }
}

function reportError(error: unknown, json: boolean): number {
  if (
    error instanceof UsageError ||
    (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    console.error(`alol: ${error.message}`);
    return 2;
  }
  // The same shape as every other adapter's errors (IPC, HTTP, jobs).
  const shape = errorShape(error);
  if (json) console.log(JSON.stringify({ error: shape }, null, 2));
  else {
    console.error(`alol: ${shape.message}`);
    for (const issue of shape.issues ?? []) {
      console.error(`  ${issue.file}:${issue.line}${issue.field ? ` field "${issue.field}"` : ''}: ${issue.message}`);
    }
  }
  return 1;
}

const argv = process.argv.slice(2);
main(argv).then(
  () => process.exit(0),
  (error: unknown) => process.exit(reportError(error, argv.includes('--json'))),
);
