//! The node's event stream on a real SQLite database: the relay positions what committed, the
//! reader publishes it once in position order, and a subscriber that falls further behind
//! than the stream holds is told it lagged (and so dropped) instead of slowing anybody.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::Utc;
use ringup_app::events::{self, Next, Stream};
use ringup_store::platform::outbox;
use ringup_store::{DatabaseUrl, Db, DbOptions};
use tempfile::TempDir;

async fn database(dir: &std::path::Path) -> Db {
    let url = DatabaseUrl::sqlite_file(&dir.join("events.db")).unwrap();
    let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Commits `n` events of type `kind`, one transaction each.
async fn write(db: &Db, kind: &str, n: usize) {
    for _ in 0..n {
        let mut tx = db.begin_write().await.unwrap();
        outbox::append_json(&mut *tx, kind, None, "{}", Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn next(subscription: &mut ringup_app::events::Subscription) -> Next {
    tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("nothing within 5 s")
}

#[tokio::test]
async fn subscribers_get_every_event_once_in_order_and_a_laggard_is_told_so() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let db = database(dir.path()).await;
    write(&db, "early.event", 2).await;
    events::relay(&db, Utc::now()).await.unwrap();
    let stream = Stream::new(4);
    tokio::spawn(stream.clone().run(db.clone(), Duration::from_millis(50)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut reader = stream.subscribe();
    let mut laggard = stream.subscribe();
    assert_eq!(
        reader.start, 2,
        "a new subscriber starts after what was there"
    );

    // Act: three events, read as they come; then ten more than the laggard can hold.
    write(&db, "test.event", 3).await;
    assert_eq!(events::relay(&db, Utc::now()).await.unwrap(), Some(5));
    stream.wake();
    let mut positions = Vec::new();
    for _ in 0..3 {
        match next(&mut reader).await {
            Next::Event(published) => {
                assert_eq!(published.event.event_type, "test.event");
                let json: serde_json::Value = serde_json::from_str(&published.json).unwrap();
                assert_eq!(json["id"], published.event.id.as_str());
                positions.push(published.event.position);
            }
            other => panic!("{other:?}"),
        }
    }
    write(&db, "test.event", 10).await;
    events::relay(&db, Utc::now()).await.unwrap();
    stream.wake();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Assert
    assert_eq!(positions, [3, 4, 5]);
    assert!(matches!(next(&mut laggard).await, Next::Lagged));
    stream.close();
    assert!(matches!(next(&mut reader).await, Next::Closed));
}

#[tokio::test]
async fn the_relay_positions_only_what_committed_and_each_event_once() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let db = database(dir.path()).await;
    let mut open = db.begin_write().await.unwrap();
    outbox::append_json(&mut *open, "rolled.back", None, "{}", Utc::now())
        .await
        .unwrap();
    drop(open);
    write(&db, "kept.event", 3).await;

    // Act
    let first = events::relay(&db, Utc::now()).await.unwrap();
    let again = events::relay(&db, Utc::now()).await.unwrap();

    // Assert
    assert_eq!(first, Some(3));
    assert_eq!(again, None, "nothing is positioned twice");
    let all = ringup_store::events::after(&db, 0, &Default::default(), 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = all.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["kept.event"; 3]);
    let positions: Vec<i64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, [1, 2, 3]);
}
