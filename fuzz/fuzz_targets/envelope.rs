//! Fuzzes `tandem_codec::testing::fuzz_envelope`: decode never panics, and what
//! decodes re-encodes to the input and decodes again to the same value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tandem_codec::testing::fuzz_envelope(data));
