"""The MMU: Unicorn's virtual TLB, filled by walking real page tables.

Unicorn runs with UC_TLB_VIRTUAL: on every TLB miss it calls our
UC_HOOK_TLB_FILL hook with the page-aligned virtual address and the access
(read 16, write 17, fetch 18). The hook walks the 4-level tables under CR3 in
guest RAM exactly as hardware does:

  * P, RW, US and NX are checked at every level against the access and the
    current privilege (user runs enforce US; supervisor writes honour RW);
  * the Accessed bit is set in every entry used, the Dirty bit in the leaf on
    a write; a clean page is filled without write permission, so the first
    write misses again and sets Dirty;
  * a refused access is first offered to the kernel (`fault_handler`, the
    demand-paging hook point); if the kernel does not fix it, the hook returns
    False, Unicorn stops, and `pending_fault` says why.

Behind Unicorn's small TLB sits a second one in Python (`_tlb`, virtual page ->
(physical page, perms)), filled only by successful walks, one per privilege
(the checks differ). Like a hardware TLB it may hold a translation until it is
invalidated: all of it on CR3 changes (switch), the pages of a range on
unmap/protect (invalidate), never on a change of privilege. Unicorn's own TLB
loses the pages of a range too, one by one through QEMU's tlb_flush_page
(emu/page_flush.py; a long range, or a Unicorn where that cannot be found,
flushes it whole, and its misses refill from `_tlb`); it is flushed whole
when the privilege changes, since Unicorn keeps one for both here.
A guest that edits its own tables must invalidate, as on hardware (guest
kernel routines' invlpg and CR3 writes are followed: emu/guest_kernel.py).

The fill's walk (_translate) is the common case written out flat: every level
present and the access allowed. Anything else takes the full walk (paging.walk),
which knows the reasons, and is offered to the kernel.

Two walkers do this. The native one (emu/native/mmu.c, installed by emu/native_mmu.py)
is the same walk and the same software TLB in C, so present pages cost no
Python; Python runs only when it refuses (`_on_native_refusal`), and is told
why, with the leaf entry, so demand faults need no walk of their own. The
Python walker here is the reference and the fallback (no compiler, or
EMU_NATIVE=0); a test holds the two to the same A/D bits, faults and counts.

`code_map` has a byte per physical page, set once the page is filled
executable: only those pages can hold translated code (Machine._code_written).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from unicorn import (UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_HOOK_TLB_FILL, UC_MEM_FETCH,
                     UC_MEM_READ, UC_MEM_WRITE, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE,
                     UC_TLB_VIRTUAL, Uc)
from unicorn.x86_const import UC_X86_REG_CR3

from .errors import KernelPanic, UnmappedAccess
from .native_mmu import NativeWalker
from .page_flush import PageFlush
from .paging import (PAGE_4K, PTE_A, PTE_ADDR_MASK, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_RW,
                     PTE_US, NOT_PRESENT, Walk, page_align_down, refusal, translate_range, walk)

ACCESS_NAMES = {UC_MEM_READ: "read", UC_MEM_WRITE: "write", UC_MEM_FETCH: "fetch"}
_NEEDED = {UC_MEM_READ: UC_PROT_READ, UC_MEM_WRITE: UC_PROT_WRITE, UC_MEM_FETCH: UC_PROT_EXEC}


@dataclass(frozen=True)
class RefusedAccess:
    """What the walker refused, recorded for the machine's fault report."""
    vaddr: int          # page-aligned: all Unicorn tells the hook
    access: str
    reason: str
    user: bool


class MMU:
    """Translation for one CPU: current root (CR3), privilege, and TLBs."""

    def __init__(self, uc: Uc, ram, native: bool = True):
        self._uc = uc
        self.ram = ram
        self.cr3 = 0
        self.user = False
        # The kernel's page-fault entry for the current run (Machine.run sets
        # it): fault_handler(vaddr, access, leaf, reason) returns True when it
        # mapped the page, or the reason to report; `leaf` is the entry that
        # maps the page, 0 when none does.
        self.fault_handler = None
        self.pending_fault: RefusedAccess | None = None
        self.handler_error: Exception | None = None   # raised inside fault_handler
        self._walks = self._hits = 0    # the Python walker's fills: walks and TLB hits
        self._tlbs: dict[bool, dict[int, tuple[int, int]]] = {True: {}, False: {}}
        self._tlb = self._tlbs[False]         # the current privilege's
        # A byte per physical page: 1 once filled executable since translated
        # code was last dropped. Only these pages can hold translated code.
        self.code_map = bytearray(ram.size // PAGE_4K)
        self._code_bytes = (ctypes.c_char * len(self.code_map)).from_buffer(self.code_map)
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        self._page_flush = PageFlush.find(uc._uch)     # None: whole flushes only
        self._native = NativeWalker.install(uc._uch, ram, self.code_map, self._on_native_refusal,
                                            self._page_flush) if native else None
        if self._native is None:
            uc.hook_add(UC_HOOK_TLB_FILL, self._on_tlb_fill)

    @property
    def native(self) -> bool:
        """True when the C walker fills the TLB (else the Python one)."""
        return self._native is not None

    @property
    def assist(self):
        """The C walker's demand-zero assist (emu/native_mmu.py), or None."""
        return self._native.assist if self._native else None

    @property
    def anon_maps(self):
        """The C mmap and munmap of anonymous memory (emu/native_anon.py), or None."""
        return self._native.anon_maps if self._native else None

    @property
    def unmap_leaves(self):
        """The C walker's unmap of 4 KiB leaves (kernel/page_tables.py uses
        it), or None."""
        return self._native.unmap_leaves if self._native else None

    @property
    def fills(self) -> int:
        """Walks since the machine booted (fills the software TLB could not serve)."""
        return self._native.counts[0] if self._native else self._walks

    def fill_counts(self) -> tuple[int, int]:
        """(walks, fills served by the software TLB) since the machine booted:
        together, every refill of Unicorn's TLB."""
        return self._native.counts if self._native else (self._walks, self._hits)

    # -- address-space control ----------------------------------------------------

    def switch(self, root: int, user: bool) -> None:
        """Load CR3 with `root` and set the privilege of what runs next. A new
        root forgets every translation; a new privilege keeps them."""
        if root != self.cr3:
            self.cr3, self.user = root, user
            self._tlb = self._tlbs[user]
            self._load()
            self._uc.reg_write(UC_X86_REG_CR3, root)
            self.flush()
        elif user != self.user:
            self.user = user
            self._tlb = self._tlbs[user]
            self._load()
            self._uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def _load(self) -> None:
        if self._native:
            self._native.load(self.cr3, self.user)

    def flush(self) -> None:
        """Forget every cached translation (all TLBs)."""
        if self._native:
            self._native.flush()
        for tlb in self._tlbs.values():
            tlb.clear()
        self._uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def forget_code(self) -> None:
        """Translated code was dropped: from now on only pages the TLBs can
        still fetch from may get new translations. Unicorn's TLB only holds
        translations this MMU filled and still has in its software TLB."""
        ctypes.memset(self._code_bytes, 0, len(self.code_map))
        if self._native:
            self._native.mark_code()
            return
        for tlb in self._tlbs.values():
            for paddr, perms in tlb.values():
                if perms & UC_PROT_EXEC:
                    self.code_map[paddr // PAGE_4K] = 1

    def may_hold_code(self, paddr: int, length: int) -> bool:
        """Was any page of [paddr, paddr+length) filled executable since
        translated code was last dropped?"""
        return self.code_map.find(1, paddr // PAGE_4K, (paddr + length - 1) // PAGE_4K + 1) >= 0

    def invalidate(self, vaddr: int, size: int) -> None:
        """Forget the translations of [vaddr, vaddr+size) (INVLPG over a range)."""
        first, end = page_align_down(vaddr), vaddr + size
        if self._native:
            self._native.invalidate(first, end)       # Unicorn's TLB flushed too, in C
            return
        for tlb in self._tlbs.values():
            if (end - first) // PAGE_4K > len(tlb):
                for page in [p for p in tlb if first <= p < end]:
                    del tlb[page]
            else:
                for page in range(first, end, PAGE_4K):
                    tlb.pop(page, None)
        if self._page_flush is None or not self._page_flush.pages(first, end):
            self._uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    @property
    def flushes_pages(self) -> bool:
        """True when short invalidations flush Unicorn's TLB page by page
        (emu/page_flush.py), False when they flush it whole."""
        return self._page_flush is not None

    # -- walking (root defaults to the current CR3) ------------------------------------

    def walk(self, vaddr: int, root: int | None = None) -> Walk:
        """The page walk for `vaddr`, without touching A/D bits."""
        return walk(self.ram.read_u64, self._root(root), vaddr, self.ram.size)

    def _root(self, root: int | None) -> int:
        return self.cr3 if root is None else root

    # -- host-side virtual access -----------------------------------------------------

    def translate(self, vaddr: int, root: int | None = None) -> int:
        """Physical address of `vaddr`, or UnmappedAccess. No permission checks:
        this is the debugger's and loader's view, not the guest's."""
        result = self.walk(vaddr, root)
        if not result.mapped:
            raise UnmappedAccess(vaddr, result.reason or NOT_PRESENT)
        return result.paddr

    def read_virtual(self, vaddr: int, length: int, root: int | None = None) -> bytes:
        """Read guest-virtual memory page by page through the walk."""
        view = self.ram.view
        return b"".join(view[p:p + n] for p, n in self._pieces(vaddr, length, root))

    def write_virtual(self, vaddr: int, data: bytes, root: int | None = None) -> None:
        """Write guest-virtual memory through the walk (read-only pages too, as a
        debugger may). Every page is translated before anything is written."""
        pieces = list(self._pieces(vaddr, len(data), root))
        done = 0
        for paddr, chunk in pieces:
            self.ram.write(paddr, data[done:done + chunk])
            done += chunk

    def _pieces(self, vaddr: int, length: int, root: int | None):
        pieces = []
        for paddr, chunk, _ in translate_range(self.ram.read_u64, self._root(root), vaddr,
                                               length, self.ram.size):
            if paddr is None:
                raise UnmappedAccess(vaddr, self.walk(vaddr, root).reason or NOT_PRESENT)
            pieces.append((paddr, chunk))
            vaddr += chunk
        return pieces

    # -- the TLB-fill hook (the Python walker) ---------------------------------------

    def _on_tlb_fill(self, _uc, vaddr: int, access: int, entry, _data) -> bool:
        hit = self._tlb.get(vaddr)
        if hit is not None and hit[1] & _NEEDED[access]:
            self._hits += 1
            entry.paddr, entry.perms = hit
            if hit[1] & UC_PROT_EXEC:
                self.code_map[hit[0] // PAGE_4K] = 1
            return True
        return self._fill(vaddr, access, entry)

    def _fill(self, vaddr: int, access: int, entry) -> bool:
        """The slow path: walk and check; on refusal, the kernel's turn."""
        self._walks += 1
        translation = self._translate(vaddr, access)
        if translation is None:
            translation = self._refused(vaddr, access)
            if translation is None:
                return False
        self._tlb[vaddr] = translation
        entry.paddr, entry.perms = translation
        if translation[1] & UC_PROT_EXEC:
            self.code_map[translation[0] // PAGE_4K] = 1
        return True

    def _translate(self, vaddr: int, access: int) -> tuple[int, int] | None:
        """(physical page, perms) when the walk allows the access, setting A in
        every entry used and D in the leaf on a write; None otherwise (and then
        nothing is set: hardware marks no entry for an access it refuses)."""
        top = vaddr >> 47
        if top and top != 0x1FFFF:
            return None
        ram = self.ram
        read, limit = ram.read_u64, ram.size - PAGE_4K
        write_access = access == UC_MEM_WRITE
        table, writable, user, executable = self.cr3, True, True, True
        used = []
        for shift in (39, 30, 21, 12):
            if table > limit:
                return None                          # an entry pointed outside RAM
            slot = table + ((vaddr >> shift) & 0x1FF) * 8
            e = read(slot)
            if not e & PTE_P:
                return None
            used.append((slot, e))
            writable &= bool(e & PTE_RW)
            user &= bool(e & PTE_US)
            executable &= not e & PTE_NX
            if shift == 12 or (e & PTE_PS and shift != 39):
                size = 1 << shift
                paddr = ((e & PTE_ADDR_MASK) & ~(size - 1)) | (vaddr & (size - 1))
                break
            table = e & PTE_ADDR_MASK
        if paddr > limit or (self.user and not user) or \
                (write_access and not writable) or (access == UC_MEM_FETCH and not executable):
            return None
        last = len(used) - 1
        for i, (slot, e) in enumerate(used):
            wanted = e | PTE_A | (PTE_D if write_access and i == last else 0)
            if wanted != e:
                ram.write_u64(slot, wanted)
        perms = UC_PROT_READ
        if writable and (write_access or used[last][1] & PTE_D):
            perms |= UC_PROT_WRITE
        if executable:
            perms |= UC_PROT_EXEC
        return paddr, perms

    def _refused(self, vaddr: int, access: int) -> tuple[int, int] | None:
        """The full walk says why; the kernel may map the page (demand paging)."""
        name = ACCESS_NAMES[access]
        result = self.walk(vaddr)
        reason = refusal(result, name, self.user)
        if reason is None:      # the full walk allows what the flat one refused
            raise KernelPanic(f"mmu_fill: walks disagree about {vaddr:#x} ({name})")
        leaf = result.leaf.entry if result.mapped else 0
        if not self._offer(vaddr, name, leaf, reason):
            return None
        translation = self._translate(vaddr, access)
        if translation is None:
            self._refuse(vaddr, name, refusal(self.walk(vaddr), name, self.user) or NOT_PRESENT)
        return translation

    # -- refused accesses (both walkers) ---------------------------------------------

    def _on_native_refusal(self, vaddr: int, access: int, retry: int) -> int:
        """The C walker refused: 1 when the kernel mapped the page (walk again),
        0 when the access is refused. With `retry`, the walk after the
        kernel's fix refused too. Nothing may escape into C."""
        try:
            name = ACCESS_NAMES[access]
            reason, leaf = self._native.refusal()
            if retry:
                self._refuse(vaddr, name, reason or NOT_PRESENT)
                return 0
            return int(self._offer(vaddr, name, leaf, reason))
        except BaseException as exc:     # noqa: BLE001 - reported by the machine
            self.handler_error = exc
            return 0

    def _offer(self, vaddr: int, name: str, leaf: int, reason: str) -> bool:
        """Offer a refused access to the kernel: True when it mapped the page."""
        if self.fault_handler is not None:
            try:
                verdict = self.fault_handler(vaddr, name, leaf, reason)
            except Exception as exc:       # reported by the machine after the stop
                self.handler_error = exc
                return False
            if verdict is True:
                return True
            reason = verdict
        self._refuse(vaddr, name, reason)
        return False

    def _refuse(self, vaddr: int, name: str, reason: str) -> None:
        self.pending_fault = RefusedAccess(vaddr, name, reason, self.user)
