// Embedding gather (forward) and scatter-add (backward).

import { axpy } from "./simd";

export function embedding_forward(out: usize, table: usize, ids: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    memory.copy(out + <usize>r * rowBytes, table + <usize>id * rowBytes, rowBytes);
  }
}

export function embedding_backward(dtable: usize, dout: usize, ids: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    axpy(dtable + <usize>id * rowBytes, 1, dout + <usize>r * rowBytes, C);
  }
}
