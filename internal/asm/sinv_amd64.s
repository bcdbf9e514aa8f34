//go:build amd64 && !purego

#include "textflag.h"

// Each constant is broadcast to the four lanes of a YMM operand: ABSMASK and
// SIGNMASK select |x| and the sign bit, LIMIT = 2^20, INVPI = 1/π, MAGIC =
// 1.5·2^52, PI1 + PI2 = π with PI1 its first 33 bits (n·PI1 is exact for
// |n| < 2^20), C3…C17 the coefficients of sin y = y + y·y²·g(y²) with g
// of degree 7 fitted to Chebyshev nodes on y² in [0, (π/2)²] (mpmath's
// chebyfit at 50 digits; it gives 1.3e-18 as the bound on the truncation
// error for sin).
#define ABSMASK sinvconst<>+0(SB)
#define SIGNMASK sinvconst<>+32(SB)
#define LIMIT sinvconst<>+64(SB)
#define INVPI sinvconst<>+96(SB)
#define MAGIC sinvconst<>+128(SB)
#define PI1 sinvconst<>+160(SB)
#define PI2 sinvconst<>+192(SB)
#define C3 sinvconst<>+224(SB)
#define C5 sinvconst<>+256(SB)
#define C7 sinvconst<>+288(SB)
#define C9 sinvconst<>+320(SB)
#define C11 sinvconst<>+352(SB)
#define C13 sinvconst<>+384(SB)
#define C15 sinvconst<>+416(SB)
#define C17 sinvconst<>+448(SB)

// SINV computes the sine of the four lanes of x, |x| < 2^20, into x, using
// t, n, z, p as scratch: n = round(x/π), y = x - n·π, sin x = (-1)^n sin y
// with sin y = y + y·y²·(C3 + y²(C5 + …)) on |y| <= π/2. Adding MAGIC
// rounds x/π to nearest, and t = MAGIC + n exactly: its low bit is n mod 2.
#define SINV(x, t, n, z, p) \
	VMOVUPD      INVPI, t; \
	VFMADD213PD  MAGIC, x, t; /* t = x/π + MAGIC */ \
	VSUBPD       MAGIC, t, n; /* n = round(x/π) */ \
	VFNMADD231PD PI1, n, x; /* x - n·PI1, exact */ \
	VFNMADD231PD PI2, n, x; /* y */ \
	VMULPD       x, x, z; /* z = y² */ \
	VMOVUPD      C17, p; \
	VFMADD213PD  C15, z, p; \
	VFMADD213PD  C13, z, p; \
	VFMADD213PD  C11, z, p; \
	VFMADD213PD  C9, z, p; \
	VFMADD213PD  C7, z, p; \
	VFMADD213PD  C5, z, p; \
	VFMADD213PD  C3, z, p; \
	VMULPD       z, x, n; \
	VFMADD213PD  x, n, p; /* sin y = y + z·y·(C3 + …) */ \
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

DATA sinvconst<>+0(SB)/8, $0x7fffffffffffffff
DATA sinvconst<>+8(SB)/8, $0x7fffffffffffffff
DATA sinvconst<>+16(SB)/8, $0x7fffffffffffffff
DATA sinvconst<>+24(SB)/8, $0x7fffffffffffffff
DATA sinvconst<>+32(SB)/8, $0x8000000000000000
DATA sinvconst<>+40(SB)/8, $0x8000000000000000
DATA sinvconst<>+48(SB)/8, $0x8000000000000000
DATA sinvconst<>+56(SB)/8, $0x8000000000000000
DATA sinvconst<>+64(SB)/8, $1048576.0
DATA sinvconst<>+72(SB)/8, $1048576.0
DATA sinvconst<>+80(SB)/8, $1048576.0
DATA sinvconst<>+88(SB)/8, $1048576.0
DATA sinvconst<>+96(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+104(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+112(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+120(SB)/8, $3.18309886183790691216e-01
DATA sinvconst<>+128(SB)/8, $6755399441055744.0
DATA sinvconst<>+136(SB)/8, $6755399441055744.0
DATA sinvconst<>+144(SB)/8, $6755399441055744.0
DATA sinvconst<>+152(SB)/8, $6755399441055744.0
DATA sinvconst<>+160(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+168(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+176(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+184(SB)/8, $3.14159265346825122833e+00
DATA sinvconst<>+192(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+200(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+208(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+216(SB)/8, $1.21542010130123844986e-10
DATA sinvconst<>+224(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+232(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+240(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+248(SB)/8, $-1.66666666666666666330e-01
DATA sinvconst<>+256(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+264(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+272(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+280(SB)/8, $8.33333333333331586882e-03
DATA sinvconst<>+288(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+296(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+304(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+312(SB)/8, $-1.98412698412549737689e-04
DATA sinvconst<>+320(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+328(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+336(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+344(SB)/8, $2.75573192191632334163e-06
DATA sinvconst<>+352(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+360(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+368(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+376(SB)/8, $-2.50521076169961828909e-08
DATA sinvconst<>+384(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+392(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+400(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+408(SB)/8, $1.60589773124640876214e-10
DATA sinvconst<>+416(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+424(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+432(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+440(SB)/8, $-7.64397029679857205238e-13
DATA sinvconst<>+448(SB)/8, $2.73144476698639934244e-15
DATA sinvconst<>+456(SB)/8, $2.73144476698639934244e-15
DATA sinvconst<>+464(SB)/8, $2.73144476698639934244e-15
DATA sinvconst<>+472(SB)/8, $2.73144476698639934244e-15
GLOBL sinvconst<>(SB), RODATA|NOPTR, $480
