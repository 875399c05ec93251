//! Tests of the test pool's naming.

use super::*;

#[test]
fn the_pid_is_read_from_test_pool_names_only() {
    assert_eq!(pid_of(&unique_name()), Some(std::process::id()));
    assert_eq!(pid_of("zbt123x0x456"), Some(123));
    assert_eq!(pid_of("zbt123x0"), None);
    assert_eq!(pid_of("zbtxx0x1"), None);
    assert_eq!(pid_of("tank"), None);
    assert_eq!(pid_of("backupdrill1a2b3c4d"), None);
}
