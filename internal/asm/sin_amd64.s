//go:build amd64 && !purego

#include "textflag.h"

// Each constant is broadcast to the four lanes of a YMM operand: ABSMASK and
// SIGNMASK select |x| and the sign bit, LIMIT = 2^20, TWOOPI = 2/π, MAGIC =
// 1.5·2^52, PIO2_1 + PIO2_1T = π/2 with PIO2_1 its first 33 bits, S1…S6 and
// C1…C6 fdlibm's __kernel_sin and __kernel_cos coefficients, as in
// hnnsolve's sincos.go.
#define ABSMASK sinconst<>+0(SB)
#define SIGNMASK sinconst<>+32(SB)
#define LIMIT sinconst<>+64(SB)
#define TWOOPI sinconst<>+96(SB)
#define MAGIC sinconst<>+128(SB)
#define PIO2_1 sinconst<>+160(SB)
#define PIO2_1T sinconst<>+192(SB)
#define S1 sinconst<>+224(SB)
#define S2 sinconst<>+256(SB)
#define S3 sinconst<>+288(SB)
#define S4 sinconst<>+320(SB)
#define S5 sinconst<>+352(SB)
#define S6 sinconst<>+384(SB)
#define C1 sinconst<>+416(SB)
#define C2 sinconst<>+448(SB)
#define C3 sinconst<>+480(SB)
#define C4 sinconst<>+512(SB)
#define C5 sinconst<>+544(SB)
#define C6 sinconst<>+576(SB)
#define HALF sinconst<>+608(SB)
#define ONE sinconst<>+640(SB)

// SINCOS computes the sine and cosine of the four lanes of x, |x| < 2^20,
// into x and z, using t, n, p, q, w, e as scratch, as hnnsolve's sincos:
// n = round(2x/π), y = x - n·π/2, the kernels on y, and the quadrant n mod 4
// selects (sy, cy), (cy, -sy), (-sy, -cy) or (-cy, sy). Adding MAGIC
// rounds 2x/π to nearest (ties to even), and t = MAGIC + n exactly: its
// mantissa is 2^51 + n, so its low two bits are n mod 4.
#define SINCOS(x, z, t, n, p, q, w, e) \
	VMOVUPD      TWOOPI, t; \
	VFMADD213PD  MAGIC, x, t; /* t = 2x/π + MAGIC */ \
	VSUBPD       MAGIC, t, n; /* n = round(2x/π) */ \
	VFNMADD231PD PIO2_1, n, x; /* x - n·PIO2_1 (n·PIO2_1 is exact) */ \
	VFNMADD231PD PIO2_1T, n, x; /* y */ \
	VMULPD       x, x, z; /* z = y² */ \
	VMOVUPD      S6, p; \
	VFMADD213PD  S5, z, p; \
	VFMADD213PD  S4, z, p; \
	VFMADD213PD  S3, z, p; \
	VFMADD213PD  S2, z, p; \
	VFMADD213PD  S1, z, p; \
	VMULPD       z, x, n; \
	VFMADD213PD  x, n, p; /* sy = y + z·y·(S1 + …) */ \
	VANDPD       SIGNMASK, x, x; \
	VORPD        x, p, p; /* sy has y's sign; this keeps sin -0 = -0 */ \
	VMOVUPD      C6, q; \
	VFMADD213PD  C5, z, q; \
	VFMADD213PD  C4, z, q; \
	VFMADD213PD  C3, z, q; \
	VFMADD213PD  C2, z, q; \
	VFMADD213PD  C1, z, q; \
	VMULPD       z, q, q; /* r = z·(C1 + …) */ \
	VMULPD       HALF, z, n; /* hz = z/2 */ \
	VMOVUPD      ONE, w; \
	VSUBPD       n, w, w; /* w = 1 - hz */ \
	VSUBPD       ONE, w, e; /* w - 1 = -(1 - w), exact */ \
	VADDPD       n, e, e; /* -((1 - w) - hz) */ \
	VFMSUB231PD  q, z, e; /* ((1 - w) - hz) + z·r */ \
	VADDPD       e, w, q; /* cy */ \
	VPSLLQ       $63, t, n; /* sign: bit 0 of n, swap sin and cos */ \
	VPSRLQ       $1, t, t; \
	VPSLLQ       $63, t, t; /* sign: bit 1 of n, negate sin */ \
	VBLENDVPD    n, q, p, x; \
	VBLENDVPD    n, p, q, z; \
	VXORPD       t, x, x; /* sin */ \
	VXORPD       n, t, t; /* sign: bit 0 xor bit 1, negate cos */ \
	VXORPD       t, z, z /* cos */

// func sinActivationFMA(a, da, h, d1, dh []float64) int
TEXT ·sinActivationFMA(SB), NOSPLIT, $0-128
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ da_base+24(FP), R10
	MOVQ h_base+48(FP), DI
	MOVQ d1_base+72(FP), R8
	MOVQ dh_base+96(FP), R9
	XORQ AX, AX

loop:
	LEAQ 4(AX), DX
	CMPQ DX, CX
	JGT  done
	VMOVUPD (SI)(AX*8), Y0
	VANDPD  ABSMASK, Y0, Y2
	VCMPPD  $5, LIMIT, Y2, Y2 // NLT_US: !(|x| < 2^20), also NaN and ±Inf
	VPTEST  Y2, Y2
	JNZ     done
	SINCOS(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMOVUPD Y0, (DI)(AX*8)
	VMOVUPD Y1, (R8)(AX*8)
	VMULPD  (R10)(AX*8), Y1, Y1
	VMOVUPD Y1, (R9)(AX*8)
	MOVQ    DX, AX
	JMP     loop

done:
	MOVQ AX, ret+120(FP)
	VZEROUPPER
	RET

DATA sinconst<>+0(SB)/8, $0x7fffffffffffffff
DATA sinconst<>+8(SB)/8, $0x7fffffffffffffff
DATA sinconst<>+16(SB)/8, $0x7fffffffffffffff
DATA sinconst<>+24(SB)/8, $0x7fffffffffffffff
DATA sinconst<>+32(SB)/8, $0x8000000000000000
DATA sinconst<>+40(SB)/8, $0x8000000000000000
DATA sinconst<>+48(SB)/8, $0x8000000000000000
DATA sinconst<>+56(SB)/8, $0x8000000000000000
DATA sinconst<>+64(SB)/8, $1048576.0
DATA sinconst<>+72(SB)/8, $1048576.0
DATA sinconst<>+80(SB)/8, $1048576.0
DATA sinconst<>+88(SB)/8, $1048576.0
DATA sinconst<>+96(SB)/8, $6.36619772367581382433e-01
DATA sinconst<>+104(SB)/8, $6.36619772367581382433e-01
DATA sinconst<>+112(SB)/8, $6.36619772367581382433e-01
DATA sinconst<>+120(SB)/8, $6.36619772367581382433e-01
DATA sinconst<>+128(SB)/8, $6755399441055744.0
DATA sinconst<>+136(SB)/8, $6755399441055744.0
DATA sinconst<>+144(SB)/8, $6755399441055744.0
DATA sinconst<>+152(SB)/8, $6755399441055744.0
DATA sinconst<>+160(SB)/8, $1.57079632673412561417e+00
DATA sinconst<>+168(SB)/8, $1.57079632673412561417e+00
DATA sinconst<>+176(SB)/8, $1.57079632673412561417e+00
DATA sinconst<>+184(SB)/8, $1.57079632673412561417e+00
DATA sinconst<>+192(SB)/8, $6.07710050650619224932e-11
DATA sinconst<>+200(SB)/8, $6.07710050650619224932e-11
DATA sinconst<>+208(SB)/8, $6.07710050650619224932e-11
DATA sinconst<>+216(SB)/8, $6.07710050650619224932e-11
DATA sinconst<>+224(SB)/8, $-1.66666666666666324348e-01
DATA sinconst<>+232(SB)/8, $-1.66666666666666324348e-01
DATA sinconst<>+240(SB)/8, $-1.66666666666666324348e-01
DATA sinconst<>+248(SB)/8, $-1.66666666666666324348e-01
DATA sinconst<>+256(SB)/8, $8.33333333332248946124e-03
DATA sinconst<>+264(SB)/8, $8.33333333332248946124e-03
DATA sinconst<>+272(SB)/8, $8.33333333332248946124e-03
DATA sinconst<>+280(SB)/8, $8.33333333332248946124e-03
DATA sinconst<>+288(SB)/8, $-1.98412698298579493134e-04
DATA sinconst<>+296(SB)/8, $-1.98412698298579493134e-04
DATA sinconst<>+304(SB)/8, $-1.98412698298579493134e-04
DATA sinconst<>+312(SB)/8, $-1.98412698298579493134e-04
DATA sinconst<>+320(SB)/8, $2.75573137070700676789e-06
DATA sinconst<>+328(SB)/8, $2.75573137070700676789e-06
DATA sinconst<>+336(SB)/8, $2.75573137070700676789e-06
DATA sinconst<>+344(SB)/8, $2.75573137070700676789e-06
DATA sinconst<>+352(SB)/8, $-2.50507602534068634195e-08
DATA sinconst<>+360(SB)/8, $-2.50507602534068634195e-08
DATA sinconst<>+368(SB)/8, $-2.50507602534068634195e-08
DATA sinconst<>+376(SB)/8, $-2.50507602534068634195e-08
DATA sinconst<>+384(SB)/8, $1.58969099521155010221e-10
DATA sinconst<>+392(SB)/8, $1.58969099521155010221e-10
DATA sinconst<>+400(SB)/8, $1.58969099521155010221e-10
DATA sinconst<>+408(SB)/8, $1.58969099521155010221e-10
DATA sinconst<>+416(SB)/8, $4.16666666666666019037e-02
DATA sinconst<>+424(SB)/8, $4.16666666666666019037e-02
DATA sinconst<>+432(SB)/8, $4.16666666666666019037e-02
DATA sinconst<>+440(SB)/8, $4.16666666666666019037e-02
DATA sinconst<>+448(SB)/8, $-1.38888888888741095749e-03
DATA sinconst<>+456(SB)/8, $-1.38888888888741095749e-03
DATA sinconst<>+464(SB)/8, $-1.38888888888741095749e-03
DATA sinconst<>+472(SB)/8, $-1.38888888888741095749e-03
DATA sinconst<>+480(SB)/8, $2.48015872894767294178e-05
DATA sinconst<>+488(SB)/8, $2.48015872894767294178e-05
DATA sinconst<>+496(SB)/8, $2.48015872894767294178e-05
DATA sinconst<>+504(SB)/8, $2.48015872894767294178e-05
DATA sinconst<>+512(SB)/8, $-2.75573143513906633035e-07
DATA sinconst<>+520(SB)/8, $-2.75573143513906633035e-07
DATA sinconst<>+528(SB)/8, $-2.75573143513906633035e-07
DATA sinconst<>+536(SB)/8, $-2.75573143513906633035e-07
DATA sinconst<>+544(SB)/8, $2.08757232129817482790e-09
DATA sinconst<>+552(SB)/8, $2.08757232129817482790e-09
DATA sinconst<>+560(SB)/8, $2.08757232129817482790e-09
DATA sinconst<>+568(SB)/8, $2.08757232129817482790e-09
DATA sinconst<>+576(SB)/8, $-1.13596475577881948265e-11
DATA sinconst<>+584(SB)/8, $-1.13596475577881948265e-11
DATA sinconst<>+592(SB)/8, $-1.13596475577881948265e-11
DATA sinconst<>+600(SB)/8, $-1.13596475577881948265e-11
DATA sinconst<>+608(SB)/8, $0.5
DATA sinconst<>+616(SB)/8, $0.5
DATA sinconst<>+624(SB)/8, $0.5
DATA sinconst<>+632(SB)/8, $0.5
DATA sinconst<>+640(SB)/8, $1.0
DATA sinconst<>+648(SB)/8, $1.0
DATA sinconst<>+656(SB)/8, $1.0
DATA sinconst<>+664(SB)/8, $1.0
GLOBL sinconst<>(SB), RODATA|NOPTR, $672

// The sine-only kernel's constants, broadcast like those above: VINVPI = 1/π,
// VPI1 + VPI2 = π with VPI1 its first 33 bits (n·VPI1 is exact for
// |n| < 2^20), V3…V17 the coefficients of sin y = y + y·y²·g(y²) with g
// of degree 7 fitted to Chebyshev nodes on y² in [0, (π/2)²] (mpmath's
// chebyfit at 50 digits; it gives 1.3e-18 as the bound on the truncation
// error for sin).
#define VINVPI sinvconst<>+0(SB)
#define VPI1 sinvconst<>+32(SB)
#define VPI2 sinvconst<>+64(SB)
#define V3 sinvconst<>+96(SB)
#define V5 sinvconst<>+128(SB)
#define V7 sinvconst<>+160(SB)
#define V9 sinvconst<>+192(SB)
#define V11 sinvconst<>+224(SB)
#define V13 sinvconst<>+256(SB)
#define V15 sinvconst<>+288(SB)
#define V17 sinvconst<>+320(SB)

// SINV computes the sine of the four lanes of x, |x| < 2^20, into x, using
// t, n, z, p as scratch: n = round(x/π), y = x - n·π, sin x = (-1)^n sin y
// with sin y = y + y·y²·(V3 + y²(V5 + …)) on |y| <= π/2. Adding MAGIC
// rounds x/π to nearest, and t = MAGIC + n exactly: its low bit is n mod 2.
#define SINV(x, t, n, z, p) \
	VMOVUPD      VINVPI, t; \
	VFMADD213PD  MAGIC, x, t; /* t = x/π + MAGIC */ \
	VSUBPD       MAGIC, t, n; /* n = round(x/π) */ \
	VFNMADD231PD VPI1, n, x; /* x - n·VPI1, exact */ \
	VFNMADD231PD VPI2, n, x; /* y */ \
	VMULPD       x, x, z; /* z = y² */ \
	VMOVUPD      V17, p; \
	VFMADD213PD  V15, z, p; \
	VFMADD213PD  V13, z, p; \
	VFMADD213PD  V11, z, p; \
	VFMADD213PD  V9, z, p; \
	VFMADD213PD  V7, z, p; \
	VFMADD213PD  V5, z, p; \
	VFMADD213PD  V3, z, p; \
	VMULPD       z, x, n; \
	VFMADD213PD  x, n, p; /* sin y = y + z·y·(V3 + …) */ \
	VANDPD       SIGNMASK, x, x; \
	VORPD        x, p, p; /* y's sign: keeps sin -0 = -0 */ \
	VPSLLQ       $63, t, t; /* sign: n mod 2 */ \
	VXORPD       t, p, x

// BAD sets flag to the lanes of x outside |x| < LIMIT (also NaN and ±Inf),
// with the masks in Y14 (ABSMASK) and Y15 (LIMIT).
#define BAD(x, flag) \
	VANDPD Y14, x, flag; \
	VCMPPD $5, Y15, flag, flag /* NLT_US */

// func sinValuesFMA(x, dst []float64) int
TEXT ·sinValuesFMA(SB), NOSPLIT, $0-56
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	MOVQ    dst_base+24(FP), DI
	VMOVUPD ABSMASK, Y14
	VMOVUPD LIMIT, Y15
	XORQ    AX, AX

loop8: // two blocks of four at a time, for two independent chains
	LEAQ    8(AX), DX
	CMPQ    DX, CX
	JGT     loop4
	VMOVUPD (SI)(AX*8), Y0
	VMOVUPD 32(SI)(AX*8), Y8
	BAD(Y0, Y2)
	BAD(Y8, Y10)
	VORPD   Y10, Y2, Y2
	VPTEST  Y2, Y2
	JNZ     loop4
	SINV(Y0, Y1, Y2, Y3, Y4)
	SINV(Y8, Y9, Y10, Y11, Y12)
	VMOVUPD Y0, (DI)(AX*8)
	VMOVUPD Y8, 32(DI)(AX*8)
	MOVQ    DX, AX
	JMP     loop8

loop4:
	LEAQ    4(AX), DX
	CMPQ    DX, CX
	JGT     done
	VMOVUPD (SI)(AX*8), Y0
	BAD(Y0, Y2)
	VPTEST  Y2, Y2
	JNZ     done
	SINV(Y0, Y1, Y2, Y3, Y4)
	VMOVUPD Y0, (DI)(AX*8)
	MOVQ    DX, AX
	JMP     loop4

done:
	MOVQ AX, ret+48(FP)
	VZEROUPPER
	RET

DATA sinvconst<>+0(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+8(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+16(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+24(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+32(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+40(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+48(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+56(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+64(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+72(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+80(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+88(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+96(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+104(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+112(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+120(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+128(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+136(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+144(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+152(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+160(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+168(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+176(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+184(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+192(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+200(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+208(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+216(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+224(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+232(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+240(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+248(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+256(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+264(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+272(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+280(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+288(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+296(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+304(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+312(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+320(SB)/8, $2.73144476698639934244e-15
DATA sinvconst<>+328(SB)/8, $2.73144476698639934244e-15
DATA sinvconst<>+336(SB)/8, $2.73144476698639934244e-15
DATA sinvconst<>+344(SB)/8, $2.73144476698639934244e-15
GLOBL sinvconst<>(SB), RODATA|NOPTR, $352
