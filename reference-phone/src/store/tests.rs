//! Unit tests of the store's private parts (spec §7, [SYNC-10]): migrations
//! from version 1, and typed errors for missing, foreign, corrupt and newer
//! databases.

use super::*;

fn account() -> Account {
    Account {
        name: "Ada".into(),
        device_name: "Pixel".into(),
    }
}

fn folder() -> (tempfile::TempDir, StorePaths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = StorePaths::in_folder(dir.path());
    (dir, paths)
}

#[test]
fn a_version_1_database_migrates_and_keeps_its_data() {
    let (_dir, paths) = folder();
    std::fs::File::create(&paths.database).unwrap();
    initialize(&paths, 42, &account(), 1).unwrap();
    {
        let conn = Connection::open(&paths.database).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        conn.execute_batch(
            "INSERT INTO contacts VALUES (1, 'Bob');
             INSERT INTO chats VALUES (1, 1, 'Bob', 0, 0);
             INSERT INTO sends (companion, client_id, message_id, seq, code)
                 VALUES (x'01', x'02', 5, 6, NULL);",
        )
        .unwrap();
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'messages_by_chat'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0, "version 1 has no index");
    }
    let store = SqliteStore::open(&paths).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.log_id(), 42);
    assert_eq!(store.contacts().unwrap()[0].name, "Bob");
    assert_eq!(store.account().unwrap(), account());
    let applied: i64 = store
        .conn
        .query_row("SELECT applied_ms FROM sends", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, 0, "the new column has its default on old rows");
    let plan: String = store
        .conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE chat_id = 1 AND message_id < 9",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("messages_by_chat"), "{plan}");
    // Opening again is a no-op.
    drop(store);
    assert_eq!(
        SqliteStore::open(&paths).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn a_missing_database_is_not_found_and_an_existing_one_is_not_recreated() {
    let (_dir, paths) = folder();
    assert!(matches!(
        SqliteStore::open(&paths),
        Err(OpenError::NotFound(_))
    ));
    SqliteStore::create(&paths, 1, &account()).unwrap();
    assert!(matches!(
        SqliteStore::create(&paths, 1, &account()),
        Err(OpenError::AlreadyExists(_))
    ));
}

#[test]
fn a_file_that_is_not_sqlite_is_a_typed_error() {
    let (_dir, paths) = folder();
    std::fs::write(
        &paths.database,
        b"this is not a database, just some text\n".repeat(200),
    )
    .unwrap();
    let err = SqliteStore::open(&paths).unwrap_err();
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
}

#[test]
fn a_damaged_database_is_a_typed_error() {
    let (_dir, paths) = folder();
    {
        let mut store = SqliteStore::create(&paths, 1, &account()).unwrap();
        let rows: Vec<Contact> = (1..=400)
            .map(|id| Contact {
                contact_id: id,
                name: format!("contact number {id} with a long name to fill pages"),
            })
            .collect();
        store
            .commit(Commit {
                contacts: rows,
                ..Commit::default()
            })
            .unwrap();
        store
            .conn
            .pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
    }
    // Scribble over the middle of the file, past the header page.
    let mut bytes = std::fs::read(&paths.database).unwrap();
    assert!(bytes.len() > 12_000, "{}", bytes.len());
    for byte in &mut bytes[4_200..12_000] {
        *byte = 0xA5;
    }
    std::fs::write(&paths.database, &bytes).unwrap();
    let err = SqliteStore::open(&paths).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Corrupt { .. } | OpenError::NotADatabase { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn a_foreign_or_newer_database_is_refused() {
    let (_dir, paths) = folder();
    {
        let conn = Connection::open(&paths.database).unwrap();
        conn.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY);")
            .unwrap();
    }
    let err = SqliteStore::open(&paths).unwrap_err();
    assert!(matches!(err, OpenError::Foreign { .. }), "{err:?}");

    let (_dir, paths) = folder();
    SqliteStore::create(&paths, 1, &account()).unwrap();
    {
        let conn = Connection::open(&paths.database).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = SqliteStore::open(&paths).unwrap_err();
    assert!(matches!(err, OpenError::TooNew { .. }), "{err:?}");
    assert!(err.to_string().contains("schema version"));
}

#[test]
fn damaged_rows_are_store_errors_not_panics() {
    let (_dir, paths) = folder();
    let store = SqliteStore::create(&paths, 1, &account()).unwrap();
    store
        .conn
        .execute_batch(
            "INSERT INTO messages (message_id, chat_id, sender, timestamp_ms, status, body_kind)
                 VALUES (1, 1, 0, 0, 9, 1);
             INSERT INTO events VALUES (1, x'17');
             INSERT INTO companions VALUES (x'0102', 'short key', 0, 0, 0);",
        )
        .unwrap();
    assert!(store.message(1).is_err());
    assert!(store.events_after(0, 10).is_err());
    assert!(store.companions().is_err());
}

#[test]
fn files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, paths) = folder();
    SqliteStore::create(&paths, 1, &account()).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&paths.database), 0o600);
    assert_eq!(mode(&paths.media), 0o700);
}
