; float_stats.asm -- mean and scaled sum of a table of doubles with SSE2, and
; the float data forms NASM takes: dd/dq/dt constants, exponents, hex floats,
; __float32__, infinities and NaNs.
;
;   mean(rdi = doubles, rsi = count)   OUT: xmm0 = their mean (0.0 for count 0)
;   scale32(xmm0 = x)                  OUT: xmm0 = x * 1.5 as a float

        section .text
        global mean, scale32

mean:
        pxor xmm0, xmm0
        test rsi, rsi
        jz .done
        xor ecx, ecx
.add:
        addsd xmm0, [rdi + rcx*8]
        inc rcx
        cmp rcx, rsi
        jb .add
        cvtsi2sd xmm1, rsi
        divsd xmm0, xmm1
.done:
        ret

scale32:
        mov eax, __float32__(1.5)
        movd xmm1, eax
        mulss xmm0, xmm1
        ret

; the sum of `table`, with the constant from the assembler
sum_table:
        movsd xmm0, [rel table]
        addsd xmm0, QWORD [rel table + 8]
        addsd xmm0, [rel table + 16]
        ucomisd xmm0, [rel expected]
        setz al
        ret

        section .rodata
        align 8
table       dq 1.5, 2.25, -0.75
expected    dq 3.0
constants:
        dd 3.14159265, 1e10, -2.5e-3, 0x1.8p3
        dq 6.02214076e23, 1.0e-310, __Infinity__, -__Infinity__, __QNaN__
        dt 3.14159265358979323846, 1.0
        dw 1.5, 65504.0
one_half    dd __float32__(0.5)
