/**
 * engineFailure on the engines' exact texts for the failures the CLI tests cannot cause in seconds:
 * wasm's abort when malloc fails (seen on GPT-2 small: "Aborted(). Build with -sASSERTIONS for more
 * info."), V8's failed ArrayBuffer allocation, and errors that are no engine failure (left as they
 * are). test/cli/engineFailure.cli.test.ts causes a real heap exhaustion and a real lost device.
 */
import { describe, expect, it } from 'vitest';
import { engineFailure, type FailureContext } from '../../src/main/jobs/engineFailure';
import { AppError } from '../../src/shared/contract';

const run: FailureContext = {
  backend: 'wasm',
  what: 'run 4',
  kind: 'train',
  resume: { command: 'alol run resume 4', checkpointStep: 40 },
};

describe('engineFailure', () => {
  it("turns wasm's bare abort into the heap's limit and what to change, keeping the checkpoint, no resume", async () => {
    const error = new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
    const failure = await engineFailure(error, run);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure!.code).toBe('out_of_memory');
    expect(failure!.message).toBe(
      'run 4: the wasm backend ran out of memory: its heap is 32-bit, at most 4 GiB for the weights, gradients, ' +
        'optimizer state and activations together (wasm: RuntimeError: Aborted(). Build with -sASSERTIONS for more ' +
        'info.). What helps: a smaller batch (--batch; --grad-accum keeps its size), a shorter context, or LoRA ' +
        '(--lora-r) instead of full fine-tuning, or the webgpu backend on a GPU (--backend webgpu or ' +
        'ALOL_BACKEND=webgpu), which has no 4 GiB heap. The same settings would fail again, so resuming does not ' +
        'help: change them in a new run. Its last checkpoint (step 40) is kept.',
    );
  });

  it("turns V8's failed allocation into the machine's memory, for a job that is not a run", async () => {
    const failure = await engineFailure(new RangeError('Array buffer allocation failed'), {
      backend: 'wasm',
      what: 'the sample job',
      kind: 'sample',
    });
    expect(failure!.code).toBe('out_of_memory');
    expect(failure!.message).toMatch(
      /^the sample job: the process could not allocate memory for a buffer \(RangeError: Array buffer allocation failed\): the machine's memory ran out\. What helps: a smaller model, or fewer or shorter sequences at once, or the webgpu backend .*, or closing other programs\. The same settings would fail again, so resuming does not help: change them\.$/,
    );
  });

  it('leaves other errors, and errors already clear, as they are', async () => {
    expect(await engineFailure(new Error('ENOENT: no such file'), run)).toBeNull();
    expect(await engineFailure(new AppError('invalid_input', 'out of bounds, Aborted('), run)).toBeNull();
    // WebGPU's texts on another backend are not WebGPU's failure.
    expect(await engineFailure(new Error('reading a WebGPU buffer failed'), run)).toBeNull();
  });
});
