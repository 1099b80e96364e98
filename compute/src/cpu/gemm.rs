//! f32 GEMM through the `gemm` crate (single-threaded: our pool splits the work), behind strided
//! views whose bounds are checked once per call.
#![allow(unsafe_code)]

use crate::error::{OpError, check_len};

/// A read-only strided f32 matrix: element `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// A writable f32 matrix, row-major (`cs = 1`) or column-major (`rs = 1`), so no two elements alias.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

fn check_bounds(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> Result<(), OpError> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1) * rs + (cols - 1) * cs;
    if last >= len {
        return Err(OpError::Shape {
            what: "matrix data length (last index + 1)",
            expected: last + 1,
            actual: len,
        });
    }
    Ok(())
}

impl<'a> MatRef<'a> {
    /// A view with explicit strides; fails when an element would lie outside `data`.
    pub fn new(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        rs: usize,
        cs: usize,
    ) -> Result<Self, OpError> {
        check_bounds(data.len(), rows, cols, rs, cs)?;
        Ok(Self {
            data,
            rows,
            cols,
            rs,
            cs,
        })
    }

    /// A contiguous row-major `rows × cols` view.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Result<Self, OpError> {
        check_len("matrix data length (rows·cols)", rows * cols, data.len())?;
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    /// A row-major view with row stride `rs >= cols`.
    pub fn row_major_strided(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        rs: usize,
    ) -> Result<Self, OpError> {
        if rows > 1 && rs < cols {
            return Err(OpError::Shape {
                what: "row stride (>= cols)",
                expected: cols,
                actual: rs,
            });
        }
        check_bounds(data.len(), rows, cols, rs, 1)?;
        Ok(Self {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        })
    }

    /// A contiguous row-major `rows × cols` view.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self, OpError> {
        check_len("matrix data length (rows·cols)", rows * cols, data.len())?;
        Self::row_major_strided(data, rows, cols, cols)
    }
}

/// `c = (accumulate ? c : 0) + scale · a·b`. Shapes: `a` m×k, `b` k×n, `c` m×n.
pub fn gemm_f32(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    scale: f32,
    accumulate: bool,
) -> Result<(), OpError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    check_len("b rows (= a cols)", k, b.rows)?;
    check_len("c rows (= a rows)", m, c.rows)?;
    check_len("c cols (= b cols)", n, c.cols)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    c.data[i * c.rs + j * c.cs] = 0.0;
                }
            }
        }
        return Ok(());
    }
    // SAFETY: every view was bounds-checked at construction (last element inside its slice), the
    // shapes agree (checked above), `c` is exclusively borrowed and its elements are distinct
    // (row- or column-major with stride >= the other extent), and `a`, `b` are only read.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.data.as_mut_ptr(),
            c.cs as isize,
            c.rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::reference;

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// `y = x·wᵀ` (the linear-layer form: both K-contiguous) against f64, with and without accumulate.
    fn check(m: usize, n: usize, k: usize, seed: u64) {
        let x = values(m * k, seed);
        let w = values(n * k, seed + 1);
        let want = reference::gemm_f64(&x, &w, m, n, k);
        let mut y = values(m * n, seed + 2);
        let y0 = y.clone();
        let a = MatRef::row_major(&x, m, k).unwrap();
        let b = MatRef::row_major(&w, n, k).unwrap().t();
        gemm_f32(MatMut::row_major(&mut y, m, n).unwrap(), a, b, 0.5, true).unwrap();
        let tol = 1e-5 * (k as f64).max(1.0);
        for i in 0..m * n {
            let e = f64::from(y0[i]) + 0.5 * want[i];
            assert!(
                (f64::from(y[i]) - e).abs() <= tol,
                "{m}x{n}x{k} [{i}]: {} vs {e}",
                y[i]
            );
        }
        gemm_f32(MatMut::row_major(&mut y, m, n).unwrap(), a, b, 1.0, false).unwrap();
        for i in 0..m * n {
            assert!((f64::from(y[i]) - want[i]).abs() <= tol);
        }
    }

    #[test]
    fn linear_layer_shapes_match_the_f64_reference() {
        check(64, 384, 384, 1);
        check(1, 1536, 384, 2);
        check(7, 5, 0, 3);
    }

    #[test]
    fn out_of_bounds_strides_are_refused() {
        let d = [0.0f32; 10];
        assert!(MatRef::new(&d, 3, 4, 4, 1).is_err());
        assert!(MatRef::new(&d, 3, 2, 4, 1).is_ok());
        let mut o = [0.0f32; 10];
        assert!(MatMut::row_major_strided(&mut o, 3, 4, 3).is_err());
    }

    #[test]
    fn mismatched_inner_dimension_is_an_error() {
        let (x, w, mut y) = ([0.0f32; 6], [0.0f32; 6], [0.0f32; 4]);
        let err = gemm_f32(
            MatMut::row_major(&mut y, 2, 2).unwrap(),
            MatRef::row_major(&x, 2, 3).unwrap(),
            MatRef::row_major(&w, 2, 3).unwrap(),
            1.0,
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("b rows"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn f32_gemm_matches_f64_on_shapes_with_tails(
            m in 1usize..40, n in 1usize..40, k in 1usize..70, seed in 1u64..u64::MAX
        ) {
            check(m, n, k, seed);
        }
    }
}
