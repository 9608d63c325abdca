import GRDB

/// The state database's schema, as migrations that are never edited once shipped: a change is
/// a new migration. They name tables and columns with strings, not record types, so that later
/// changes to the Swift types cannot change what an old migration does.
enum StateSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // A staged image, by the id staging derives from its filesystem (the same on every host).
            try db.create(table: "images") { t in
                t.primaryKey("id", .text)
                t.column("path", .text).notNull()
                t.column("digest", .text)
                t.column("staged_at", .datetime).notNull()
                t.column("state", .text).notNull()
                    .check(sql: "state IN ('staging', 'staged', 'destaging', 'failed')")
            }
            // A package exposed from a staged image. Destaging the image removes it.
            try db.create(table: "packages") { t in
                t.primaryKey("full_name", .text)
                t.column("family_name", .text).notNull().indexed()
                t.column("image_id", .text).notNull().indexed()
                    .references("images", onDelete: .cascade)
                t.column("mount_point", .text).notNull()
            }
            // A package registered for a user. A registration cannot outlive its package.
            try db.create(table: "registrations") { t in
                t.primaryKey {
                    t.column("uid", .integer)
                    t.column("package_full_name", .text)
                        .references("packages", onDelete: .cascade)
                }
                t.column("user_name", .text).notNull()
                t.column("mode", .text).notNull().check(sql: "mode IN ('delayed', 'regular')")
                t.column("state", .text).notNull().check(sql: "state IN ('partial', 'complete')")
                t.column("registered_at", .datetime).notNull()
                t.column("completed_at", .datetime)
            }
            // "Users of a package" is asked at every destage decision.
            try db.create(index: "registrations_on_package_full_name", on: "registrations", columns: ["package_full_name"])
            // What happened, for `appattachctl history` through the agent. Events name objects
            // by value, without foreign keys, because they must outlive what they describe.
            try db.create(table: "events") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .datetime).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("uid", .integer)
                t.column("package", .text)
                t.column("image", .text)
                t.column("duration_usec", .integer)
                t.column("message", .text).notNull()
            }
        }
        migrator.registerMigration("v2") { db in
            // Whose a uid's app data layers and registrations are, and since when that account
            // has been missing from NSS. No foreign key: a row outlives the registrations (the
            // layers stay for the retention period after the account is gone).
            try db.create(table: "accounts") { t in
                t.primaryKey("uid", .integer)
                t.column("user_name", .text).notNull()
                t.column("recorded_at", .datetime).notNull()
                t.column("missing_since", .datetime)
            }
        }
        return migrator
    }
}
