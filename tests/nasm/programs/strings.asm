; strings.asm -- string routines with the string instructions (System V ABI).
;
;   str_len(rdi = s)                 OUT: rax = bytes before the NUL
;   str_copy(rdi = dst, rsi = src)   OUT: rax = dst; copies the NUL too
;   mem_fill(rdi = p, esi = byte, rdx = n)   OUT: rax = p
;   mem_compare(rdi = a, rsi = b, rdx = n)   OUT: eax <0, 0 or >0
;   to_upper(rdi = s)                in place, ASCII letters only
; Each preserves rbx, rbp, r12-r15; DF is clear on entry and on exit.

        section .text
        global str_len, str_copy, mem_fill, mem_compare, to_upper

str_len:
        mov rdx, rdi                    ; remember where the string starts
        xor eax, eax                    ; al = the NUL scasb looks for
        mov rcx, -1                     ; no limit
        repne scasb
        lea rax, [rdi - 1]              ; rdi stopped one past the NUL
        sub rax, rdx
        ret

str_copy:
        push rdi
        push rsi
        call str_len                    ; rax = length, rdi = s = src
        pop rsi
        pop rdi
        lea rcx, [rax + 1]              ; the NUL as well
        mov rax, rdi
        rep movsb
        ret

mem_fill:
        mov r8, rdi
        mov eax, esi
        mov rcx, rdx
        cmp rcx, 32
        jb .bytes
        movzx eax, al                   ; spread the byte over a qword
        mov r9, 0x0101010101010101
        imul rax, r9
        mov rcx, rdx
        shr rcx, 3
        rep stosq
        mov rcx, rdx
        and ecx, 7
.bytes:
        rep stosb
        mov rax, r8
        ret

mem_compare:
        mov rcx, rdx
        xor eax, eax
        test rcx, rcx
        jz .done
        repe cmpsb
        je .done                        ; all n bytes equal
        movzx eax, BYTE[rsi - 1]
        movzx ecx, BYTE[rdi - 1]
        sub ecx, eax
        mov eax, ecx
.done:
        ret

to_upper:
.next:
        movzx eax, byte [rdi]
        test al, al
        jz .done
        lea ecx, [rax - 'a']
        cmp ecx, 'z' - 'a'
        ja .skip                        ; not a lower-case letter
        and byte [rdi], ~0x20 & 0xff
.skip:
        inc rdi
        jmp .next
.done:
        ret

        section .rodata
        align 16
; an unrolled table of the powers of two below 256, built by %rep
powers:
%assign p 1
%rep 8
        db p
%assign p p * 2
%endrep
hex_digits db "0123456789abcdef"
        times 32 - ($ - powers) db 0    ; pad the table to 32 bytes
