//! Runnable ttk programs live beside this crate as `[[example]]`s; see the README.
