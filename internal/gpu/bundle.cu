/* hnnsolve's GPU bundle evaluator (internal/gpu/bundle.go): the chain of a
 * solution bundle's networks for N members at one time, every array
 * feature-major (row c holds coordinate or unit c of all N members), the
 * products cuBLAS's. The same rules as kernels.cu: internal/pointwise's
 * Prelude in front, independent items, every parameter 8 bytes, no fused
 * products (NVRTC --fmad=false, host -ffp-contract=off). */

typedef long long hnn_i64;

/* hnn_bundle_inputs: a network's input for member i, rows 0..n+1 of H
 * ((n+2)×N): τ, then u_c = (x_c - mid_c) scale_c with x = (S, θ), S the
 * start state (dim×N) and θ the parameters ((n-dim)×N), then 1 (the bias's
 * row). */
HNN_KERNEL void hnn_bundle_inputs(hnn_i64 N, hnn_i64 dim, hnn_i64 n, double tau, const double* S, const double* theta,
                                  const double* mid, const double* scale, double* H) {
	for (hnn_i64 i = HNN_FIRST; i < N; i += HNN_STRIDE) {
		H[i] = tau;
		for (hnn_i64 c = 0; c < n; c++) {
			double x = c < dim ? S[c * N + i] : theta[(c - dim) * N + i];
			H[(1 + c) * N + i] = (x - mid[c]) * scale[c];
		}
		H[(1 + n) * N + i] = 1.0;
	}
}

/* hnn_bundle_act: a hidden layer's values, H = σ(A) for the w×N units of A,
 * and the row of ones under them (H is (w+1)×N). */
HNN_KERNEL void hnn_bundle_act(hnn_i64 N, hnn_i64 w, hnn_i64 act, const double* A, double* H) {
	for (hnn_i64 i = HNN_FIRST; i < (w + 1) * N; i += HNN_STRIDE) {
		if (i >= w * N) {
			H[i] = 1.0;
			continue;
		}
		double a = A[i];
		if (act == HNN_SIGMOID) {
			H[i] = 1.0 / (1.0 + exp(-a));
		} else if (act == HNN_TANH) {
			H[i] = tanh(a);
		} else {
			H[i] = sin(a);
		}
	}
}

/* hnn_bundle_step: S += f N, the chain's step to the next segment's start
 * (f = f(t_{k+1} - t_k)), or the state in the last segment, for the dim×N
 * values of S and N. */
HNN_KERNEL void hnn_bundle_step(hnn_i64 M, double f, const double* Nout, double* S) {
	for (hnn_i64 i = HNN_FIRST; i < M; i += HNN_STRIDE) S[i] = S[i] + f * Nout[i];
}
