// The embedded metadata store every daemon uses for its own state: SQLite in
// WAL mode with synchronous=FULL, so a committed transaction survives a crash
// of the daemon or the machine. Each daemon owns exactly one database.
//
// Schema changes are an ordered list of migrations; PRAGMA user_version
// records how many have been applied. Never edit a released migration: append.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth {

class Database;

// A prepared statement on loan from its Database: when it goes out of scope it
// is reset and returned to the database's cache for the next Prepare of the
// same SQL, so it must not outlive the Database.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindBlob(int index, std::string_view blob);
  Statement& BindNull(int index);

  // Advances to the next row: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  absl::Status Run();

  std::string ColumnText(int index) const;
  int64_t ColumnInt(int index) const;
  std::string ColumnBlob(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  friend class Database;
  Statement(Database* owner, sqlite3* db, sqlite3_stmt* stmt)
      : owner_(owner), db_(db), stmt_(stmt) {}
  Database* owner_;
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating) the database and applies the migrations not yet applied,
  // each in its own transaction.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        const std::vector<std::string>& migrations);
  ~Database();

  absl::StatusOr<Statement> Prepare(std::string_view sql);
  absl::Status Exec(std::string_view sql);

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back when fn fails.
  // The database lock is held for the duration, so transactions are serialised.
  absl::Status Transaction(const std::function<absl::Status()>& fn);

  // Runs fn's writes with synchronous=NORMAL, then restores the setting: for
  // writes that a crash of the process never loses (WAL) and that only a
  // power loss could undo, where start-up repairs what such a loss leaves.
  // The connection's lock is held throughout, so no other commit runs
  // unsynced.
  absl::Status WriteUnsynced(const std::function<absl::Status()>& fn);

  // Rows inserted, updated or deleted through this connection since it
  // opened (rolled back ones too). Read under the connection's lock, so never
  // in the middle of a transaction: an unchanged count means nothing was
  // written in between.
  int64_t ChangeCount();

  // Serialises users of this connection (SQLite connections are not to be
  // shared between threads without it). Prepare/Exec/Transaction take it.
  std::recursive_mutex& mutex() { return mutex_; }

 private:
  friend class Statement;
  explicit Database(sqlite3* db) : db_(db) {}
  absl::Status Migrate(const std::vector<std::string>& migrations);
  // Compiling SQL costs more than running the daemons' small queries, and
  // they run the same few statements over and over: idle statements wait
  // here, keyed by their SQL, until a Prepare of the same text takes one.
  void Recycle(sqlite3_stmt* stmt);
  sqlite3* db_;
  std::recursive_mutex mutex_;
  std::mutex idle_mutex_;
  std::multimap<std::string, sqlite3_stmt*> idle_;
};

}  // namespace berth
