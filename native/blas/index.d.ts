export interface BlasInfo {
  /** The name that loaded, e.g. "libopenblas.so.0". */
  library: string;
  /** "OpenBLAS", "BLIS", "MKL", or "unknown" (only with acceptUnknown). */
  vendor: string;
  /** OpenBLAS's build configuration or BLIS's version; "" otherwise. */
  config: string;
  /** Whether setThreads reaches the library. */
  threadControl: boolean;
}

export interface BlasAddon {
  /** dlopens the first name that loads and exports cblas_sgemm; the same result on later calls. Throws with every name's failure. */
  open(names: string[], acceptUnknown?: boolean): BlasInfo;
  /**
   * C[i] = op(A[i]) @ op(B[i]) for i < batch: row-major float32 matrices in `heap`, offsets in bytes,
   * batch strides in floats (0 repeats one matrix). (M, K) @ (K, N) -> (M, N) after the transposes.
   * `threads` BLAS threads (0 or absent: this thread's setThreads count).
   */
  sgemm(
    heap: Uint8Array | ArrayBuffer,
    batch: number,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    aOff: number,
    aStride: number,
    bOff: number,
    bStride: number,
    cOff: number,
    cStride: number,
    threads?: number,
  ): void;
  /** BLAS threads for calls from this thread. */
  setThreads(n: number): void;
  getThreads(): number;
}

/** The addon, or null with `error` saying why (build failed, not built, cannot load). */
export const addon: BlasAddon | null;
export const error: string | null;
/** Where the addon is (or would be). */
export const file: string;
