/* hnnsolve's GPU engine: the kernels of one training epoch (package
 * internal/gpu, engine.go describes the epoch and the memory layout).
 *
 * This one source compiles as CUDA C++ under NVRTC (one thread per item of
 * a grid-stride loop) and as C99 on the host (the loop runs every item in
 * turn), through the qualifiers and loop bounds of internal/pointwise's
 * Prelude, which the engine puts in front of it together with H's point
 * function hnn_h and the #defines of the layout (HNN_D, the state fields).
 * Every kernel's items are independent: no shared memory, no atomics, no
 * synchronisation inside a kernel, so the host's sequential loop computes
 * exactly what the GPU's threads compute. The sums over points are the
 * cuBLAS products' business (a column of ones in each layer's input).
 *
 * No product may be fused with a sum: NVRTC gets --fmad=false and the host
 * compiler -ffp-contract=off, so + - * / round as in Go.
 *
 * Every parameter is 8 bytes (a pointer, a long long or a double), which
 * the host's trampolines and the engine's kernel table rely on. */

typedef long long hnn_i64;
typedef unsigned int hnn_u32;
typedef unsigned long long hnn_u64;

/* finite: x - x is 0 for a finite x, NaN for Inf and NaN (no isfinite
 * needed under NVRTC, which has no headers). */
HNN_FN int hnn_finite(double x) { return x - x == 0.0; }

/* hnn_div is i / n for i >= 0, n > 0: in 32 bits when both fit, which on
 * the GPU is several times faster than a 64-bit division. */
HNN_FN hnn_i64 hnn_div(hnn_i64 i, hnn_i64 n) {
	if (((i | n) >> 32) == 0) return (hnn_i64)((hnn_u32)i / (hnn_u32)n);
	return i / n;
}

/* hnn_split splits the item i of B×K×w into network b, point n, unit j. */
HNN_FN void hnn_split(hnn_i64 i, hnn_i64 K, hnn_i64 w, hnn_i64* b, hnn_i64* n, hnn_i64* j) {
	hnn_i64 q = hnn_div(i, w);
	*j = i - q * w;
	*b = hnn_div(q, K);
	*n = q - *b * K;
}

/* Philox4x32-10 (Salmon et al., SC'11; Random123's philox4x32_R with R =
 * 10): the counter c is enciphered in place under the key (k0, k1). */
HNN_FN void hnn_philox(hnn_u32 c[4], hnn_u32 k0, hnn_u32 k1) {
	for (int r = 0; r < 10; r++) {
		if (r > 0) {
			k0 += 0x9E3779B9u;
			k1 += 0xBB67AE85u;
		}
		hnn_u64 p0 = (hnn_u64)0xD2511F53u * c[0];
		hnn_u64 p1 = (hnn_u64)0xCD9E8D57u * c[2];
		hnn_u32 n0 = (hnn_u32)(p1 >> 32) ^ c[1] ^ k0;
		hnn_u32 n2 = (hnn_u32)(p0 >> 32) ^ c[3] ^ k1;
		c[1] = (hnn_u32)p1;
		c[3] = (hnn_u32)p0;
		c[0] = n0;
		c[2] = n2;
	}
}

/* hnn_normal is the perturbation ε ~ N(0, 1) of point n at epoch e for the
 * network with key (k0, k1): Philox of the counter (e, n, "HNNS", 0), two
 * 53-bit uniforms u1 in (0, 1] and u2 in [0, 1), and Box-Muller's
 * sqrt(-2 ln u1) cos(2π u2). */
HNN_FN double hnn_normal(hnn_u32 k0, hnn_u32 k1, hnn_i64 e, hnn_i64 n) {
	hnn_u32 c[4];
	c[0] = (hnn_u32)e;
	c[1] = (hnn_u32)n;
	c[2] = 0x484E4E53u;
	c[3] = 0u;
	hnn_philox(c, k0, k1);
	hnn_u64 x1 = ((hnn_u64)c[0] << 32) | c[1];
	hnn_u64 x2 = ((hnn_u64)c[2] << 32) | c[3];
	double u1 = (double)((x1 >> 11) + 1) * 1.1102230246251565e-16;
	double u2 = (double)(x2 >> 11) * 1.1102230246251565e-16;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* hnn_time is the collocation time τ_n of the network whose constants are
 * nc at epoch e: the grid L n/(K-1) plus σ ε (σ = nc[HNN_NC_SIGMA], the
 * network's own), reflected into [0, L] at most 8 times and then clamped, as
 * perturbTimes (solve.go) does; σ < 0 keeps the grid. */
HNN_FN double hnn_time(const double* nc, hnn_i64 K, hnn_i64 n, hnn_i64 e) {
	double L = nc[HNN_NC_LENGTH], sigma = nc[HNN_NC_SIGMA];
	double t = L * (double)n / (double)(K - 1);
	if (sigma < 0.0) return t;
	hnn_u32 k0 = (hnn_u32)nc[HNN_NC_SEED_LO], k1 = (hnn_u32)nc[HNN_NC_SEED_HI];
	t = t + sigma * hnn_normal(k0, k1, e, n);
	for (int i = 0; i < 8; i++) {
		if (t < 0.0) {
			t = -t;
		} else if (t > L) {
			t = 2.0 * L - t;
		} else {
			break;
		}
	}
	if (t < 0.0) t = 0.0;
	if (t > L) t = L;
	return t;
}

/* hnn_act sets *y = σ(a) and *dy = σ'(a) for the activation act (HNN_SIN,
 * HNN_SIGMOID, HNN_TANH), with network.go's formulas. */
HNN_FN void hnn_act(hnn_i64 act, double a, double* y, double* dy) {
	if (act == HNN_SIGMOID) {
		double s = 1.0 / (1.0 + exp(-a));
		*y = s;
		*dy = s * (1.0 - s);
	} else if (act == HNN_TANH) {
		double t = tanh(a);
		*y = t;
		*dy = 1.0 - t * t;
	} else {
		*y = sin(a);
		*dy = cos(a);
	}
}

/* hnn_layer1: the times and the first hidden layer, item (b, n, j) of
 * B×K×w. τ = hnn_time; a = τ W_1j + b_1j, ȧ = W_1j; h = σ(a) and ḣ = σ'(a) ȧ
 * into H (2K×(w+1): values, then tangents; column w is the ones column set
 * up once); σ'(a) and ȧ into A (2K×w) for the backward pass. The item j = 0
 * also writes τ into U (the first layer's input [τ 1; 1 0], 2K×2) and f, f'
 * into F (2K: f, then f'). */
HNN_KERNEL void hnn_layer1(hnn_i64 B, hnn_i64 K, hnn_i64 w, const double* theta, hnn_i64 ps,
	const double* state, hnn_i64 ss, const double* netc, hnn_i64 ns, hnn_i64 param, hnn_i64 act,
	double* U, hnn_i64 us, double* F, hnn_i64 fs, double* A, hnn_i64 as, double* H, hnn_i64 hs) {
	hnn_i64 total = B * K * w;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b, n, j;
		hnn_split(i, K, w, &b, &n, &j);
		const double* nc = netc + b * ns;
		hnn_i64 e = (hnn_i64)state[b * ss + HNN_S_EPOCH];
		double t = hnn_time(nc, K, n, e);
		if (j == 0) {
			U[b * us + 2 * n] = t;
			double f, df;
			if (param == HNN_LINEAR) {
				f = t;
				df = 1.0;
			} else {
				f = -expm1(-t);
				df = exp(-t);
			}
			F[b * fs + n] = f;
			F[b * fs + K + n] = df;
		}
		const double* th = theta + b * ps;
		double W = th[j], a = t * W + th[w + j];
		double y, dy;
		hnn_act(act, a, &y, &dy);
		double* h = H + b * hs;
		h[n * (w + 1) + j] = y;
		h[(K + n) * (w + 1) + j] = dy * W;
		double* ab = A + b * as;
		ab[n * w + j] = dy;
		ab[(K + n) * w + j] = W;
	}
}

/* hnn_act_layer: a later hidden layer, item (b, n, j) of B×K×w, after the
 * product A = [h; ḣ]_prev [W; b] (2K×w): h = σ(a), ḣ = σ'(a) ȧ into H
 * (2K×(w+1)), and a overwritten by σ'(a). */
HNN_KERNEL void hnn_act_layer(hnn_i64 B, hnn_i64 K, hnn_i64 w, hnn_i64 act, double* A, hnn_i64 as, double* H, hnn_i64 hs) {
	hnn_i64 total = B * K * w;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b, n, j;
		hnn_split(i, K, w, &b, &n, &j);
		double* ab = A + b * as;
		double a = ab[n * w + j], da = ab[(K + n) * w + j];
		double y, dy;
		hnn_act(act, a, &y, &dy);
		double* h = H + b * hs;
		h[n * (w + 1) + j] = y;
		h[(K + n) * (w + 1) + j] = dy * da;
		ab[n * w + j] = dy;
	}
}

/* hnn_point: the trial solution, H and the loss at point (b, n) of B×K.
 * From [N; Ṅ] (NO, 2K×D, the output layer's product with its bias) and
 * f, f': z = f N + z0, ż = f' N + f Ṅ; H, ∇H, D²H by hnn_h; the residual
 * r = ż - J∇H (r_i = ż_i - ∂H/∂p_i, r_{d+i} = ż_{d+i} + ∂H/∂q_i); the
 * point's loss (|r|² + λ (H - E0)²)/K; and the gradient of the loss,
 *
 *	∂L/∂ż = 2r/K,  ∂L/∂z = -(J D²H)ᵀ 2r/K + 2λ(H - E0) ∇H/K,
 *	G_N = f ∂L/∂z + f' ∂L/∂ż,  G_Ṅ = f ∂L/∂ż,
 *
 * into G (2K×(D+1)): row n holds G_N and, in column D, the point's loss;
 * row K+n holds G_Ṅ (its column D stays 0). */
HNN_KERNEL void hnn_point(hnn_i64 B, hnn_i64 K, const double* NO, hnn_i64 nos, const double* F, hnn_i64 fs,
	const double* netc, hnn_i64 ns, double lambda, double invK, double* G, hnn_i64 gs) {
	const hnn_i64 D = HNN_D, d = HNN_D / 2;
	hnn_i64 total = B * K;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b = hnn_div(i, K), n = i - b * K;
		const double* nc = netc + b * ns;
		const double* no = NO + b * nos;
		double f = F[b * fs + n], df = F[b * fs + K + n];
		double z[HNN_D], dz[HNN_D], r[HNN_D], out[1 + HNN_D + HNN_D * HNN_D];
		for (hnn_i64 k = 0; k < D; k++) {
			double N = no[n * D + k], dN = no[(K + n) * D + k];
			z[k] = f * N + nc[HNN_NC_Z0 + k];
			dz[k] = df * N + f * dN;
		}
		hnn_h(z, out);
		const double* g = out + 1;
		const double* hs = out + 1 + D;
		double sum = 0.0;
		for (hnn_i64 k = 0; k < D; k++) {
			r[k] = k < d ? dz[k] - g[d + k] : dz[k] + g[k - d];
			sum = sum + r[k] * r[k];
		}
		double dev = out[0] - nc[HNN_NC_E0];
		if (lambda > 0.0) sum = sum + lambda * (dev * dev);
		double c = 2.0 * invK;
		double* gr = G + b * gs;
		for (hnn_i64 j = 0; j < D; j++) {
			double s = 0.0;
			for (hnn_i64 k = 0; k < d; k++) s = s - r[k] * hs[(d + k) * D + j];
			for (hnn_i64 k = d; k < D; k++) s = s + r[k] * hs[(k - d) * D + j];
			if (lambda > 0.0) s = s + lambda * dev * g[j];
			double gz = c * s, gdz = c * r[j];
			gr[n * (D + 1) + j] = f * gz + df * gdz;
			gr[(K + n) * (D + 1) + j] = f * gdz;
		}
		gr[n * (D + 1) + D] = sum * invK;
	}
}

/* hnn_act_back: the backward pass through a hidden layer's activation,
 * item (b, n, j) of B×K×w, in place on GH (2K×w: [G_h; G_ḣ] in, [G_a; G_ȧ]
 * out), as netop.go's activationBackward:
 *
 *	G_a = G_h σ'(a) + G_ḣ σ''(a) ȧ,  G_ȧ = G_ḣ σ'(a),
 *
 * with σ'' from the cached h = σ(a) (H) and σ'(a) (A's upper half; ȧ is
 * its lower half). */
HNN_KERNEL void hnn_act_back(hnn_i64 B, hnn_i64 K, hnn_i64 w, hnn_i64 act, const double* A, hnn_i64 as,
	const double* H, hnn_i64 hs, double* GH, hnn_i64 ghs) {
	hnn_i64 total = B * K * w;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b, n, j;
		hnn_split(i, K, w, &b, &n, &j);
		const double* ab = A + b * as;
		double d1 = ab[n * w + j], da = ab[(K + n) * w + j];
		double h = H[b * hs + n * (w + 1) + j];
		double* gh = GH + b * ghs;
		double g = gh[n * w + j], gd = gh[(K + n) * w + j];
		double ga;
		if (act == HNN_SIGMOID) {
			ga = g * d1 + gd * d1 * (1.0 - 2.0 * h) * da;
		} else if (act == HNN_TANH) {
			ga = g * d1 - 2.0 * gd * h * d1 * da;
		} else {
			ga = g * d1 - gd * h * da;
		}
		gh[n * w + j] = ga;
		gh[(K + n) * w + j] = gd * d1;
	}
}

/* hnn_book: the bookkeeping of an epoch, one item per network, between the
 * loss and the step, as cpuTrainer.Run: record the loss; stop on a
 * non-finite one (HNN_STOP_DIVERGED); note whether the weights are to be
 * kept (keepFlag, for hnn_adam) and the kept loss and epoch; stop after
 * this loss, without the step, below the target loss (HNN_STOP_TARGET);
 * otherwise advance Adam's running powers, set the step's constants for
 * hnn_adam (doStep, stepSize = η_e/(1-β1^t), sqrtBC2 = sqrt(1-β2^t)) and
 * count the epoch. From the epoch lastFrom on (a stop by the host's
 * context) the step is taken too, the weights before it are saved
 * (keepLast, for hnn_adam) and the network stops (HNN_STOP_CTX). A
 * stopped network is left alone until the host clears its stop. */
HNN_KERNEL void hnn_book(hnn_i64 B, double* ctl, hnn_i64 cs, const double* grad, hnn_i64 gs, hnn_i64 lossOff,
	const double* rates, double b1, double b2) {
	for (hnn_i64 i = HNN_FIRST; i < B; i += HNN_STRIDE) {
		double* st = ctl + i * cs;
		st[HNN_S_KEEP] = 0.0;
		st[HNN_S_STEP] = 0.0;
		st[HNN_S_KEEP_LAST] = 0.0;
		if (st[HNN_S_STOPPED] != 0.0) continue;
		double e = st[HNN_S_EPOCH];
		hnn_i64 k = (hnn_i64)(e - st[HNN_S_BASE]);
		double loss = grad[i * gs + lossOff];
		st[HNN_S_LOSSES + k] = loss;
		if (!hnn_finite(loss)) {
			st[HNN_S_STOPPED] = HNN_STOP_DIVERGED;
			st[HNN_S_STOP_EPOCH] = e;
			continue;
		}
		double target = st[HNN_S_TARGET];
		int stop = target > 0.0 && loss < target;
		if ((e >= st[HNN_S_KEEP_FROM] || stop) && loss < st[HNN_S_KEPT_LOSS]) {
			st[HNN_S_KEPT_LOSS] = loss;
			st[HNN_S_KEPT] = e;
			st[HNN_S_KEEP] = 1.0;
		}
		if (stop) {
			st[HNN_S_STOPPED] = HNN_STOP_TARGET;
			st[HNN_S_STOP_EPOCH] = e;
			continue;
		}
		double p1 = st[HNN_S_POW1] * b1, p2 = st[HNN_S_POW2] * b2;
		st[HNN_S_POW1] = p1;
		st[HNN_S_POW2] = p2;
		st[HNN_S_STEP_SIZE] = rates[k] / (1.0 - p1);
		st[HNN_S_SQRT_BC2] = sqrt(1.0 - p2);
		st[HNN_S_STEP] = 1.0;
		st[HNN_S_EPOCH] = e + 1.0;
		if (e >= st[HNN_S_LAST_FROM]) {
			st[HNN_S_KEEP_LAST] = 1.0;
			st[HNN_S_STOPPED] = HNN_STOP_CTX;
			st[HNN_S_STOP_EPOCH] = e;
		}
	}
}

/* hnn_adam: keep and step, item (b, p) of B×P: θ into best if the epoch is
 * kept, into last if hnn_book says so, then PyTorch's Adam step exactly as
 * adam.go computes it. The
 * gradient of parameter p is grad[p], except in the output layer's block
 * (from offOut, (w+1)×D), whose gradient the product left with rows of D+1
 * (the last column is the loss). */
HNN_KERNEL void hnn_adam(hnn_i64 B, hnn_i64 P, hnn_i64 offOut, double* theta, double* m, double* v, double* best,
	double* last, hnn_i64 ps, const double* grad, hnn_i64 gs, const double* ctl, hnn_i64 cs, double b1, double b2, double eps) {
	const hnn_i64 D = HNN_D;
	hnn_i64 total = B * P;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b = hnn_div(i, P), p = i - b * P;
		const double* st = ctl + b * cs;
		hnn_i64 q = b * ps + p;
		if (st[HNN_S_KEEP] != 0.0) best[q] = theta[q];
		if (st[HNN_S_KEEP_LAST] != 0.0) last[q] = theta[q];
		if (st[HNN_S_STEP] == 0.0) continue;
		hnn_i64 gp = p;
		if (p >= offOut) gp = offOut + ((p - offOut) / D) * (D + 1) + (p - offOut) % D;
		double g = grad[b * gs + gp];
		double mq = b1 * m[q] + (1.0 - b1) * g;
		double vq = b2 * v[q] + (1.0 - b2) * g * g;
		m[q] = mq;
		v[q] = vq;
		theta[q] = theta[q] - st[HNN_S_STEP_SIZE] * mq / (sqrt(vq) / st[HNN_S_SQRT_BC2] + eps);
	}
}

/* hnn_init_aug: the constant columns of a layer's input, item (b, row) of
 * B×2K: column w of H (2K×(w+1)) is 1 in the value rows and 0 in the
 * tangent rows (the bias and its zero tangent); with tangentOnes, the
 * tangent rows' other columns are 1 too (U = [τ 1; 1 0], τ's tangent). */
HNN_KERNEL void hnn_init_aug(hnn_i64 B, hnn_i64 K, hnn_i64 w, hnn_i64 tangentOnes, double* H, hnn_i64 hs) {
	hnn_i64 total = B * 2 * K;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b = hnn_div(i, 2 * K), row = i - b * 2 * K;
		double* h = H + b * hs + row * (w + 1);
		h[w] = row < K ? 1.0 : 0.0;
		if (tangentOnes && row >= K) {
			for (hnn_i64 j = 0; j < w; j++) h[j] = 1.0;
		}
	}
}

/* hnn_normals writes the perturbations ε of epoch e, item (b, n) of B×K,
 * into out (B×K): for tests of the generator. */
HNN_KERNEL void hnn_normals(hnn_i64 B, hnn_i64 K, hnn_i64 e, const double* netc, hnn_i64 ns, double* out) {
	hnn_i64 total = B * K;
	for (hnn_i64 i = HNN_FIRST; i < total; i += HNN_STRIDE) {
		hnn_i64 b = hnn_div(i, K), n = i - b * K;
		const double* nc = netc + b * ns;
		out[i] = hnn_normal((hnn_u32)nc[HNN_NC_SEED_LO], (hnn_u32)nc[HNN_NC_SEED_HI], e, n);
	}
}
