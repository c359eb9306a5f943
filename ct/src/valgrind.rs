//! Valgrind client requests, issued directly (the "special instruction"
//! sequence of `valgrind/valgrind.h` for amd64), so the harness needs neither
//! `libclang` nor a C compiler. Outside valgrind every request is a no-op that
//! returns its default value.
//!
//! Request numbers: `valgrind/valgrind.h` (core) and `valgrind/memcheck.h`
//! (`VG_USERREQ_TOOL_BASE('M','C')` = 0x4d43_0000, then the enum order, which
//! that header declares a stable ABI).

#[cfg(not(target_arch = "x86_64"))]
compile_error!("the constant-time harness issues amd64 valgrind client requests");

const RUNNING_ON_VALGRIND: usize = 0x1001;
const MC_BASE: usize = 0x4d43_0000;
const MAKE_MEM_UNDEFINED: usize = MC_BASE + 1;
const MAKE_MEM_DEFINED: usize = MC_BASE + 2;
const GET_VBITS: usize = MC_BASE + 8;

/// `VALGRIND_DO_CLIENT_REQUEST_EXPR`: `rdi` is rotated by 3+13+61+51 = 128
/// bits (a no-op natively), then `xchg rbx, rbx` (also a no-op) marks the
/// request; valgrind reads `[request, a1..a5]` at `rax` and writes the result
/// to `rdx`.
fn request(default: usize, req: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let args: [usize; 6] = [req, a1, a2, a3, 0, 0];
    let result: usize;
    // SAFETY: the sequence only rotates `rdi` by a full turn and exchanges
    // `rbx` with itself; natively it changes no state. Under valgrind it
    // reads `args` (alive for the call) and writes `rdx`. `memory` is not
    // declared read-only: valgrind changes shadow state of the named range.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            inout("rdi") 0usize => _,
            options(nostack),
        );
    }
    result
}

/// True when the process runs under valgrind.
pub fn running_on_valgrind() -> bool {
    request(0, RUNNING_ON_VALGRIND, 0, 0, 0) != 0
}

/// Marks `len` bytes at `addr` undefined ("secret").
pub fn poison_raw(addr: usize, len: usize) {
    request(0, MAKE_MEM_UNDEFINED, addr, len, 0);
}

/// Marks the bytes of `value` undefined ("secret").
pub fn poison<T: ?Sized>(value: &T) {
    poison_raw(
        core::ptr::from_ref(value).cast::<u8>() as usize,
        core::mem::size_of_val(value),
    );
}

/// Marks the bytes of `value` defined again (a declassification).
pub fn declassify<T: ?Sized>(value: &T) {
    request(
        0,
        MAKE_MEM_DEFINED,
        core::ptr::from_ref(value).cast::<u8>() as usize,
        core::mem::size_of_val(value),
        0,
    );
}

/// True when every byte at `addr..addr + len` has at least one undefined
/// bit: a quiet check that a poison request took effect.
pub fn is_fully_undefined_raw(addr: usize, len: usize) -> bool {
    let mut vbits = vec![0u8; len];
    let ok = request(0, GET_VBITS, addr, vbits.as_mut_ptr() as usize, len);
    // GET_VBITS writes the V bits into `vbits`; 1 means success.
    ok == 1 && vbits.iter().all(|&v| v != 0)
}

/// True when every byte of `value` has at least one undefined bit.
pub fn is_fully_undefined<T: ?Sized>(value: &T) -> bool {
    is_fully_undefined_raw(
        core::ptr::from_ref(value).cast::<u8>() as usize,
        core::mem::size_of_val(value),
    )
}
