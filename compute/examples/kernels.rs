//! Throughput of the CPU kernels next to this machine's measured per-core peaks (one thread).
//!
//! `cargo run --release --example kernels -p percept-compute`
//! Peaks (notes/compute.md §0, AMD EPYC Zen 4): VNNI 472 GOP/s, f32 FMA 118 GFLOP/s, DRAM read
//! 25 GB/s, L3 read 65 GB/s.

use std::hint::black_box;
use std::time::Instant;

use percept_compute::cpu::{Isa, q8};
use percept_compute::quant::{I8Rows, U8Rows};

const VNNI_PEAK_GOPS: f64 = 472.0;
const F32_PEAK_GFLOPS: f64 = 118.0;
const DRAM_GBS: f64 = 25.0;
const L3_GBS: f64 = 65.0;

/// Best wall time of `reps` runs, in seconds.
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
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

fn int8_gemm(isa: Isa, m: usize, n: usize, k: usize) {
    let a = U8Rows::quantize(&data(m * k, 1), m, k).unwrap();
    let w = I8Rows::quantize(&data(n * k, 2), n, k).unwrap();
    let mut out = vec![0f32; m * n];
    let t = best(10, || {
        q8::gemm_q8(isa, &a, &w, None, black_box(&mut out)).unwrap()
    });
    let gops = 2.0 * (m * n * k) as f64 / t / 1e9;
    let peak = if isa.level() == percept_compute::cpu::IsaLevel::Avx512Vnni {
        format!(" = {:.0} % of VNNI peak", 100.0 * gops / VNNI_PEAK_GOPS)
    } else {
        String::new()
    };
    println!(
        "int8 gemm  {:>10?} m={m:<5} n={n:<5} k={k:<5} {:>8.3} ms {gops:>7.1} GOP/s{peak}",
        isa.level(),
        t * 1e3
    );
}

fn int8_gemv(isa: Isa, m: usize, n: usize, k: usize) {
    let a = U8Rows::quantize(&data(m * k, 3), m, k).unwrap();
    // Hot: one matrix, L3-resident after the first run (19.9 MB < 32 MiB). Cold: rotate over
    // copies that together exceed L3 several times.
    let copies: Vec<I8Rows> = (0..5)
        .map(|i| I8Rows::quantize(&data(n * k, 10 + i), n, k).unwrap())
        .collect();
    let bytes = copies[0].packed_bytes() as f64;
    let mut out = vec![0f32; m * n];
    let hot = best(20, || {
        q8::gemm_q8(isa, &a, &copies[0], None, black_box(&mut out)).unwrap()
    });
    let mut i = 0;
    let cold = best(20, || {
        i = (i + 1) % copies.len();
        q8::gemm_q8(isa, &a, &copies[i], None, black_box(&mut out)).unwrap()
    });
    for (what, t, peak, name) in [
        ("hot ", hot, L3_GBS, "L3"),
        ("cold", cold, DRAM_GBS, "DRAM"),
    ] {
        let gbs = bytes / t / 1e9;
        println!(
            "int8 gemv  {:>10?} m={m:<5} n={n:<5} k={k:<5} {:>8.3} ms {gbs:>7.1} GB/s {what} = {:.0} % of {name} {peak} GB/s",
            isa.level(),
            t * 1e3,
            100.0 * gbs / peak
        );
    }
}

fn main() {
    let _ = F32_PEAK_GFLOPS;
    println!(
        "kernels available: {:?}",
        Isa::all_available()
            .iter()
            .map(|i| i.level())
            .collect::<Vec<_>>()
    );
    for isa in Isa::all_available().into_iter().rev() {
        for (m, n, k) in [
            (1500, 384, 384),
            (1500, 1536, 384),
            (1500, 384, 1536),
            (600, 1152, 384),
        ] {
            int8_gemm(isa, m, n, k);
        }
        int8_gemv(isa, 1, 51_864, 384);
        int8_gemv(isa, 4, 51_864, 384);
        if isa.level() == percept_compute::cpu::IsaLevel::Scalar {
            break;
        }
    }
}
