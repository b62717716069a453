// Rotary position embedding (HF's rotate-half layout, LlamaRotaryEmbedding / GPT-NeoX's partial rotary), forward
// and backward (the inverse rotation). Row r of the input (stride `ld` floats) holds H heads of D; in each head the
// first rotaryDim dims are two halves x1, x2 rotated by the angles pos·invFreq[i]:
//   y1 = x1·cos − x2·sin,  y2 = x2·cos + x1·sin;  dims past rotaryDim pass through.
// The angles follow HF's float32 arithmetic: invFreq[i] = f32(1 / f32(theta^f32(2i / rotaryDim))),
// angle = f32(invFreq[i]·f32(pos)), cos and sin of that f32 angle rounded to f32.
// `table` is scratch for 3·(rotaryDim/2) floats: invFreq, then one row's cos and sin.

import { madd } from "./simd";

function fillInverseFrequencies(table: usize, half: i32, rotaryDim: i32, theta: f32): void {
  for (let i = 0; i < half; i++) {
    const twice: i32 = 2 * i;
    const exponent: f32 = <f32>twice / <f32>rotaryDim;
    const p: f32 = <f32>Math.pow(<f64>theta, <f64>exponent);
    store<f32>(table + (<usize>i << 2), <f32>1 / p);
  }
}

function fillAngles(table: usize, half: i32, pos: i32): void {
  const cosAt = table + (<usize>half << 2), sinAt = table + (<usize>half << 3);
  const p = <f32>pos;
  for (let i = 0; i < half; i++) {
    const o = <usize>i << 2;
    const angle: f32 = load<f32>(table + o) * p;
    store<f32>(cosAt + o, <f32>Math.cos(<f64>angle));
    store<f32>(sinAt + o, <f32>Math.sin(<f64>angle));
  }
}

export function rotary_forward(out: usize, inp: usize, positions: usize, table: usize, rows: i32, ld: i32, H: i32, D: i32, rotaryDim: i32, theta: f32): void {
  const half = rotaryDim >> 1, HD = H * D;
  const cosAt = table + (<usize>half << 2), sinAt = table + (<usize>half << 3);
  fillInverseFrequencies(table, half, rotaryDim, theta);
  for (let r = 0; r < rows; r++) {
    fillAngles(table, half, load<i32>(positions + (<usize>r << 2)));
    for (let h = 0; h < H; h++) {
      const x = inp + ((<usize>r * <usize>ld + <usize>(h * D)) << 2);
      const y = out + ((<usize>r * <usize>HD + <usize>(h * D)) << 2);
      const x2 = x + (<usize>half << 2), y2 = y + (<usize>half << 2);
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const o = <usize>i << 2;
        const a = v128.load(x + o), b = v128.load(x2 + o), c = v128.load(cosAt + o), s = v128.load(sinAt + o);
        v128.store(y + o, madd(a, c, f32x4.neg(f32x4.mul(b, s))));
        v128.store(y2 + o, madd(b, c, f32x4.mul(a, s)));
      }
      for (; i < half; i++) {
        const o = <usize>i << 2;
        const a = load<f32>(x + o), b = load<f32>(x2 + o), c = load<f32>(cosAt + o), s = load<f32>(sinAt + o);
        store<f32>(y + o, a * c - b * s);
        store<f32>(y2 + o, b * c + a * s);
      }
      const pass = D - rotaryDim;
      const rot = <usize>rotaryDim << 2;
      if (pass > 0 && y != x) memory.copy(y + rot, x + rot, <usize>pass << 2);
    }
  }
}

// dinp (row stride ld) += the inverse rotation of dout (dense rows of H·D): dx1 += dy1·cos + dy2·sin,
// dx2 += dy2·cos − dy1·sin, and the pass-through dims' gradient unchanged.
export function rotary_backward(dinp: usize, dout: usize, positions: usize, table: usize, rows: i32, ld: i32, H: i32, D: i32, rotaryDim: i32, theta: f32): void {
  const half = rotaryDim >> 1, HD = H * D;
  const cosAt = table + (<usize>half << 2), sinAt = table + (<usize>half << 3);
  fillInverseFrequencies(table, half, rotaryDim, theta);
  for (let r = 0; r < rows; r++) {
    fillAngles(table, half, load<i32>(positions + (<usize>r << 2)));
    for (let h = 0; h < H; h++) {
      const dx = dinp + ((<usize>r * <usize>ld + <usize>(h * D)) << 2);
      const dy = dout + ((<usize>r * <usize>HD + <usize>(h * D)) << 2);
      const dx2 = dx + (<usize>half << 2), dy2 = dy + (<usize>half << 2);
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const o = <usize>i << 2;
        const a = v128.load(dy + o), b = v128.load(dy2 + o), c = v128.load(cosAt + o), s = v128.load(sinAt + o);
        v128.store(dx + o, f32x4.add(v128.load(dx + o), madd(a, c, f32x4.mul(b, s))));
        v128.store(dx2 + o, f32x4.add(v128.load(dx2 + o), madd(b, c, f32x4.neg(f32x4.mul(a, s)))));
      }
      for (; i < half; i++) {
        const o = <usize>i << 2;
        const a = load<f32>(dy + o), b = load<f32>(dy2 + o), c = load<f32>(cosAt + o), s = load<f32>(sinAt + o);
        store<f32>(dx + o, load<f32>(dx + o) + (a * c + b * s));
        store<f32>(dx2 + o, load<f32>(dx2 + o) + (b * c - a * s));
      }
      let j = rotaryDim;
      for (; j + 4 <= D; j += 4) {
        const o = <usize>j << 2;
        v128.store(dx + o, f32x4.add(v128.load(dx + o), v128.load(dy + o)));
      }
      for (; j < D; j++) {
        const o = <usize>j << 2;
        store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o));
      }
    }
  }
}
