#![no_main]
// Properties: fuzz/properties/src (shared with the stable replay test).
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_properties::s3_xml::error_doc(data));
