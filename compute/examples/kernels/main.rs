//! Throughput of the CPU kernels next to this host's limits (one thread).
//!
//! `cargo run --release --example kernels -p percept-compute [SECTION]`
//! The f32 FMA peak and the read bandwidths are measured first, on this host ([`peaks`]); the
//! VNNI peak cannot be measured without VNNI and is the one of notes/compute.md §0 (AMD EPYC
//! Zen 4: 472 GOP/s per core).

mod peaks;

use std::hint::black_box;
use std::time::Instant;

use half::f16;
use percept_compute::cpu::attention::{
    DecoderScratch, EncoderScratch, Heads, KvCache, Tokens, decoder_attention, encoder_attention,
};
use percept_compute::cpu::gemm::{MatMut, MatRef, gemm_f32};
use percept_compute::cpu::{Isa, IsaLevel, activation, norm, q8, softmax};
use percept_compute::quant::{I8Rows, U8Rows};

use peaks::{Peaks, best};

/// notes/compute.md §0 (Zen 4, one core): the only peak not measured here.
const VNNI_PEAK_GOPS: f64 = 472.0;

/// Median wall time of `reps` runs, in seconds (for DRAM streams, where the best run is luck).
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn data(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn int8_gemm(isa: Isa, m: usize, n: usize, k: usize, p: &Peaks) {
    let a = U8Rows::quantize(&data(m * k, 1), m, k).unwrap();
    let w = I8Rows::quantize(&data(n * k, 2), n, k).unwrap();
    let mut out = vec![0f32; m * n];
    let t = best(10, || {
        q8::gemm_q8(isa, &a, &w, None, black_box(&mut out)).unwrap()
    });
    let gops = 2.0 * (m * n * k) as f64 / t / 1e9;
    let peak = match (isa.level(), p.fma_gflops) {
        (IsaLevel::Avx512Vnni, _) => {
            format!(
                " = {:.0} % of the Zen 4 VNNI peak",
                100.0 * gops / VNNI_PEAK_GOPS
            )
        }
        (_, Some(f)) => format!(" = {:.0} % of this host's f32 FMA peak", 100.0 * gops / f),
        _ => String::new(),
    };
    println!(
        "int8 gemm  {:>10?} m={m:<5} n={n:<5} k={k:<5} {:>8.3} ms {gops:>7.1} GOP/s{peak}",
        isa.level(),
        t * 1e3
    );
}

fn int8_gemv(isa: Isa, m: usize, n: usize, k: usize, p: &Peaks) {
    let a = U8Rows::quantize(&data(m * k, 3), m, k).unwrap();
    // Hot: one matrix, again and again, best of 20 (L3-resident where 19.9 MB fit it). Cold:
    // rotate over 8 copies (160 MB, beyond any L3 here), median of 40.
    let copies: Vec<I8Rows> = (0..8)
        .map(|i| I8Rows::quantize(&data(n * k, 10 + i), n, k).unwrap())
        .collect();
    let bytes = copies[0].packed_bytes() as f64;
    let mut out = vec![0f32; m * n];
    let hot = best(20, || {
        q8::gemm_q8(isa, &a, &copies[0], None, black_box(&mut out)).unwrap()
    });
    let mut i = 0;
    let cold = median(40, || {
        i = (i + 1) % copies.len();
        q8::gemm_q8(isa, &a, &copies[i], None, black_box(&mut out)).unwrap()
    });
    for (what, t, peak, name) in [
        ("hot ", hot, p.cache_gbs, "cache read"),
        ("cold", cold, p.dram_gbs, "DRAM read"),
    ] {
        let gbs = bytes / t / 1e9;
        println!(
            "int8 gemv  {:>10?} m={m:<5} n={n:<5} k={k:<5} {:>8.3} ms {gbs:>7.1} GB/s {what} = {:.0} % of {name} {peak:.1} GB/s",
            isa.level(),
            t * 1e3,
            100.0 * gbs / peak
        );
    }
}

fn f32_gemm(m: usize, n: usize, k: usize, p: &Peaks) {
    let x = data(m * k, 4);
    let w = data(n * k, 5);
    let mut y = vec![0f32; m * n];
    let t = best(10, || {
        let a = MatRef::row_major(&x, m, k).unwrap();
        let b = MatRef::row_major(&w, n, k).unwrap().t();
        gemm_f32(
            MatMut::row_major(black_box(&mut y), m, n).unwrap(),
            a,
            b,
            1.0,
            false,
        )
        .unwrap()
    });
    let gf = 2.0 * (m * n * k) as f64 / t / 1e9;
    println!(
        "f32 gemm   (gemm 0.19) m={m:<5} n={n:<5} k={k:<5} {:>8.3} ms {gf:>7.1} GFLOP/s{}",
        t * 1e3,
        p.fma_gflops.map_or(String::new(), |f| format!(
            " = {:.0} % of this host's f32 FMA peak",
            100.0 * gf / f
        ))
    );
}

fn quantize_acts(m: usize, k: usize) {
    let x = data(m * k, 6);
    let mut a = U8Rows::default();
    let t = best(10, || a.quantize_from(black_box(&x), m, k).unwrap());
    println!(
        "quantize activations m={m} k={k}: {:.3} ms, {:.1} GB/s of f32 read",
        t * 1e3,
        (m * k * 4) as f64 / t / 1e9
    );
}

fn elementwise(rows: usize, d: usize) {
    let x = data(rows * d, 7);
    let (g, b) = (data(d, 8), data(d, 9));
    let mut out = vec![0f32; rows * d];
    let ln = best(10, || {
        norm::layer_norm(&x, d, &g, &b, 1e-5, black_box(&mut out)).unwrap()
    });
    let mut y = x.clone();
    let sm = best(10, || softmax::softmax_rows(black_box(&mut y), d).unwrap());
    let ge = best(10, || {
        y.copy_from_slice(&x);
        activation::gelu_erf(black_box(&mut y))
    });
    let per = |t: f64| t / (rows * d) as f64 * 1e9;
    println!(
        "elementwise {rows}x{d}: layer_norm {:.2} ns/value, softmax {:.2} ns/value, gelu_erf {:.2} ns/value",
        per(ln),
        per(sm),
        per(ge)
    );
}

fn attention(t: usize, p: &Peaks) {
    let h = Heads {
        heads: 6,
        d_head: 64,
    };
    let w = 384;
    let qkv = data(t * 3 * w, 10);
    let tok = |off: usize| Tokens {
        data: &qkv[off..],
        rows: t,
        stride: 3 * w,
    };
    let mut out = vec![0f32; t * w];
    let mut scratch = EncoderScratch::default();
    let tt = best(3, || {
        encoder_attention(
            tok(0),
            tok(w),
            tok(2 * w),
            h,
            0.125,
            black_box(&mut out),
            w,
            &mut scratch,
        )
        .unwrap()
    });
    let flops = 4.0 * (t * t * w) as f64;
    println!(
        "encoder attention T={t} 6x64: {:.2} ms, {:.1} GFLOP/s (Q·Kᵀ and P·V){}",
        tt * 1e3,
        flops / tt / 1e9,
        p.fma_gflops.map_or(String::new(), |f| format!(
            " = {:.0} % of this host's f32 FMA peak",
            100.0 * flops / tt / 1e9 / f
        ))
    );
}

fn decoder(len: usize) {
    let h = Heads {
        heads: 6,
        d_head: 64,
    };
    let w = 384;
    let kv: Vec<f16> = data(len * w, 11).into_iter().map(f16::from_f32).collect();
    let q = data(w, 12);
    let cache = KvCache {
        data: &kv,
        len,
        pos_stride: w,
        head_stride: 64,
    };
    let mut out = vec![0f32; w];
    let mut s = DecoderScratch::with_capacity(len, 64);
    let t = best(50, || {
        decoder_attention(&q, cache, cache, h, 0.125, black_box(&mut out), &mut s).unwrap()
    });
    let bytes = 2.0 * (len * w * 2) as f64;
    println!(
        "decoder attention len={len} 6x64 f16 K/V: {:.1} µs, {:.1} GB/s of cache read",
        t * 1e6,
        bytes / t / 1e9
    );
}

/// `kernels [SECTION]`: run everything, or only `gemm`, `gemv`, `f32`, `ops` or `attention`.
fn main() {
    let only = std::env::args().nth(1);
    let run = |section: &str| only.as_deref().is_none_or(|o| o == section);
    let p = Peaks::measure();
    println!(
        "this host: f32 FMA {} GFLOP/s per core; read {:.1} GB/s from DRAM on one thread, {:.1} GB/s on all, {:.1} GB/s from a 4 MiB buffer",
        p.fma_gflops.map_or("n/a".into(), |f| format!("{f:.0}")),
        p.dram_gbs,
        p.dram_all_gbs,
        p.cache_gbs
    );
    println!(
        "kernels available: {:?}",
        Isa::all_available()
            .iter()
            .map(|i| i.level())
            .collect::<Vec<_>>()
    );
    // Best first; the scalar kernels only on request (they take seconds).
    for isa in Isa::all_available().into_iter().rev() {
        if isa.level() == IsaLevel::Scalar && only.is_none() {
            continue;
        }
        if run("gemm") {
            for (m, n, k) in [
                (1500, 384, 384),
                (1500, 1536, 384),
                (1500, 384, 1536),
                (600, 1152, 384),
            ] {
                int8_gemm(isa, m, n, k, &p);
            }
        }
        if run("gemv") {
            int8_gemv(isa, 1, 51_864, 384, &p);
            int8_gemv(isa, 4, 51_864, 384, &p);
        }
    }
    if run("f32") {
        for (m, n, k) in [
            (1500, 384, 384),
            (1500, 1536, 384),
            (1500, 384, 1536),
            (1, 1536, 384),
        ] {
            f32_gemm(m, n, k, &p);
        }
    }
    if run("ops") {
        quantize_acts(1500, 384);
        quantize_acts(1500, 1536);
        elementwise(1500, 384);
    }
    if run("attention") {
        attention(600, &p);
        attention(1500, &p);
        decoder(100);
        decoder(1500);
    }
}
