//! The macros check bodies are written with: `check!` registers an async
//! function as a check; `fail!`, `ensure!`, `skip!` and `skip_for_input!`
//! end a body early. Each is re-exported by `crate::framework`, and their
//! expansions name items by `$crate::framework::` paths, so they work in
//! any module without imports.

/// Registers an `async fn(Ctx) -> Outcome` as a check.
macro_rules! check {
    ($id:literal, $suite:expr, $desc:literal, $f:path) => {
        $crate::framework::Check {
            id: $id,
            suite: $suite,
            description: $desc,
            run: |cx| Box::pin($f(cx)),
        }
    };
}
pub(crate) use check;

/// Fail the check with a formatted reason.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::framework::Status::Fail(format!($($arg)*)))
    };
}
pub(crate) use fail;

/// Fail the check unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::framework::fail!($($arg)*);
        }
    };
}
pub(crate) use ensure;

/// Skip the check with a formatted reason.
macro_rules! skip {
    ($($arg:tt)*) => {
        return Err($crate::framework::Status::Skipped(format!($($arg)*)))
    };
}
pub(crate) use skip;

/// Skip the check for want of an input the author could give; the reason
/// should name the flag that gives it.
macro_rules! skip_for_input {
    ($($arg:tt)*) => {
        return Err($crate::framework::Status::Skipped(format!(
            "{}{}",
            $crate::framework::NEEDS_INPUT,
            format!($($arg)*)
        )))
    };
}
pub(crate) use skip_for_input;
