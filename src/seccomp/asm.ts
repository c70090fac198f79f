/**
 * A label-based assembler for classic BPF. Conditional jumps only reach 255
 * instructions ahead, so a branch whose target ends up farther away is
 * rewritten to hop through an unconditional `ja` (32-bit offset) placed right
 * after it; layout is repeated until every branch fits.
 */
import * as B from './bpf';

export type Label = number;

interface Item {
  code: number;
  k: number;
  /** Targets of a conditional jump (`ja` uses `jt` only). */
  jt: Label;
  jf: Label;
  /** The branch goes through a `ja` placed after the instruction. */
  farT: boolean;
  farF: boolean;
}

export class Assembler {
  private readonly items: Item[] = [];
  /** Label → index in `items` of the instruction it names. */
  private readonly labelAt: number[] = [];

  newLabel(): Label {
    this.labelAt.push(-1);
    return this.labelAt.length - 1;
  }

  place(label: Label): void {
    if (this.labelAt[label] !== -1) throw new Error(`label ${label} placed twice`);
    this.labelAt[label] = this.items.length;
  }

  get length(): number {
    return this.items.length;
  }

  loadAbs(offset: number): void {
    this.push(B.BPF_LD | B.BPF_W | B.BPF_ABS, offset);
  }

  andK(mask: number): void {
    this.push(B.BPF_ALU | B.BPF_AND | B.BPF_K, mask >>> 0);
  }

  ret(value: number): void {
    this.push(B.BPF_RET | B.BPF_K, value >>> 0);
  }

  jump(target: Label): void {
    this.push(B.BPF_JMP | B.BPF_JA, 0, target);
  }

  /** if (A <op> k) goto whenTrue else goto whenFalse; op is BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET. */
  branch(op: number, k: number, whenTrue: Label, whenFalse: Label): void {
    this.push(B.BPF_JMP | op | B.BPF_K, k >>> 0, whenTrue, whenFalse);
  }

  /** Every item has the same shape, which keeps the layout loops fast. */
  private push(code: number, k: number, jt: Label = -1, jf: Label = -1): void {
    this.items.push({ code, k, jt, jf, farT: false, farF: false });
  }

  /** Resolve labels into sock_filter instructions. */
  finish(): B.SockFilter[] {
    this.labelAt.forEach((at, label) => {
      if (at < 0) throw new Error(`label ${label} never placed`);
    });
    const items = this.items;
    const isCond = (it: Item) => (it.code & 0x07) === B.BPF_JMP && (it.code & 0xf0) !== B.BPF_JA;
    let pos: number[] = [];
    for (;;) {
      pos = new Array<number>(items.length + 1);
      let p = 0;
      for (let i = 0; i < items.length; i++) {
        pos[i] = p;
        p += 1 + (items[i].farT ? 1 : 0) + (items[i].farF ? 1 : 0);
      }
      pos[items.length] = p;
      let changed = false;
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        if (!isCond(it)) continue;
        const from = pos[i] + 1;
        if (!it.farT && pos[this.labelAt[it.jt]] - from > 255) it.farT = changed = true;
        if (!it.farF && pos[this.labelAt[it.jf]] - from > 255) it.farF = changed = true;
      }
      if (!changed) break;
    }
    const out: B.SockFilter[] = [];
    const target = (label: Label) => pos[this.labelAt[label]];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const here = pos[i];
      if ((it.code & 0x07) !== B.BPF_JMP) {
        out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
        continue;
      }
      if (!isCond(it)) {
        out.push({ code: it.code, jt: 0, jf: 0, k: forward(target(it.jt) - here - 1) });
        continue;
      }
      // Layout: [cond] [ja T if farT] [ja F if farF]
      const tSlot = here + 1;
      const fSlot = here + 1 + (it.farT ? 1 : 0);
      const jt = it.farT ? 0 : target(it.jt) - (here + 1);
      const jf = it.farF ? fSlot - (here + 1) : target(it.jf) - (here + 1);
      out.push({ code: it.code, jt: short(jt), jf: short(jf), k: it.k });
      if (it.farT) out.push({ code: B.BPF_JMP | B.BPF_JA, jt: 0, jf: 0, k: forward(target(it.jt) - tSlot - 1) });
      if (it.farF) out.push({ code: B.BPF_JMP | B.BPF_JA, jt: 0, jf: 0, k: forward(target(it.jf) - fSlot - 1) });
    }
    return out;
  }
}

/** A conditional jump offset: forward and within the 8-bit field. */
function short(offset: number): number {
  if (forward(offset) > 255) throw new Error(`internal: conditional jump of ${offset} in seccomp program`);
  return offset;
}

/** BPF only jumps forwards; a backward target means the code was laid out wrongly. */
function forward(offset: number): number {
  if (offset < 0) throw new Error(`internal: backward jump (${offset}) in seccomp program`);
  return offset;
}
