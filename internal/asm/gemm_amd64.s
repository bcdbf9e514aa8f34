//go:build amd64 && !purego

#include "textflag.h"

// func block4x8FMA(kk int, a *float64, rs, ks int, b *float64, ldb int, accumulate bool, c *float64, ldc int, nb int)
//
// For each of nb blocks j, side by side:
// C[r, 8j:8j+8] (+)= Σ_{l<kk} a[r*rs + l*ks] b[l*ldb + 8j : l*ldb + 8j+8], r = 0..3.
// A block of C lives in Y0-Y7 (two registers a row) through the loop:
// per l, two loads of B's row, four broadcasts of A, eight FMAs. The four
// rows of A are the same for every block; one call does them all, since
// the thin products of a bundle's layers (kk of 4 to 17) are short enough
// for a call's overhead to count.
TEXT ·block4x8FMA(SB), NOSPLIT, $0-80
	MOVQ nb+72(FP), CX
	TESTQ CX, CX
	JLE  end
	MOVQ a+8(FP), SI
	MOVQ rs+16(FP), R8
	MOVQ ks+24(FP), R9
	MOVQ ldb+40(FP), R10
	MOVQ ldc+64(FP), R11
	SHLQ $3, R8
	SHLQ $3, R9
	SHLQ $3, R10
	SHLQ $3, R11
	LEAQ (SI)(R8*1), R12 // row 1 of A
	LEAQ (R12)(R8*1), R13 // row 2
	LEAQ (R13)(R8*1), BX  // row 3
	MOVQ b+32(FP), R8     // B's columns of the block
	MOVQ c+56(FP), DX     // C's columns of the block

block:
	MOVQ   kk+0(FP), CX
	XORQ   AX, AX // offset of A's column l
	MOVQ   R8, DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	TESTQ  CX, CX
	JLE    store

loop:
	VMOVUPD      (DI), Y8
	VMOVUPD      32(DI), Y9
	VBROADCASTSD (SI)(AX*1), Y10
	VBROADCASTSD (R12)(AX*1), Y11
	VBROADCASTSD (R13)(AX*1), Y12
	VBROADCASTSD (BX)(AX*1), Y13
	VFMADD231PD  Y8, Y10, Y0
	VFMADD231PD  Y9, Y10, Y1
	VFMADD231PD  Y8, Y11, Y2
	VFMADD231PD  Y9, Y11, Y3
	VFMADD231PD  Y8, Y12, Y4
	VFMADD231PD  Y9, Y12, Y5
	VFMADD231PD  Y8, Y13, Y6
	VFMADD231PD  Y9, Y13, Y7
	ADDQ         R10, DI
	ADDQ         R9, AX
	DECQ         CX
	JNZ          loop

store:
	MOVQ    DX, DI
	MOVBQZX accumulate+48(FP), AX
	TESTQ   AX, AX
	JZ      overwrite
	VADDPD  (DI), Y0, Y0
	VADDPD  32(DI), Y1, Y1
	ADDQ    R11, DI
	VADDPD  (DI), Y2, Y2
	VADDPD  32(DI), Y3, Y3
	ADDQ    R11, DI
	VADDPD  (DI), Y4, Y4
	VADDPD  32(DI), Y5, Y5
	ADDQ    R11, DI
	VADDPD  (DI), Y6, Y6
	VADDPD  32(DI), Y7, Y7
	MOVQ    DX, DI

overwrite:
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    R11, DI
	VMOVUPD Y2, (DI)
	VMOVUPD Y3, 32(DI)
	ADDQ    R11, DI
	VMOVUPD Y4, (DI)
	VMOVUPD Y5, 32(DI)
	ADDQ    R11, DI
	VMOVUPD Y6, (DI)
	VMOVUPD Y7, 32(DI)
	ADDQ    $64, R8
	ADDQ    $64, DX
	DECQ    nb+72(FP)
	JNZ     block

end:
	VZEROUPPER
	RET
