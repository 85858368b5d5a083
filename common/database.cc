#include "common/database.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth {
namespace {

absl::Status SqliteError(sqlite3* db, std::string_view context) {
  int code = sqlite3_extended_errcode(db);
  std::string message = std::string(context) + ": " + sqlite3_errmsg(db);
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : owner_(other.owner_), db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ != nullptr) owner_->Recycle(stmt_);
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view blob) {
  sqlite3_bind_blob(stmt_, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, "sqlite step");
}

absl::Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::ColumnBlob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  if (blob == nullptr) return "";
  return std::string(static_cast<const char*>(blob),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path, const std::vector<std::string>& migrations) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(db, "open " + path);
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<Database> database(new Database(db));
  sqlite3_busy_timeout(db, 5000);
  RETURN_IF_ERROR(database->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(database->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(database->Exec("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(database->Migrate(migrations));
  return database;
}

Database::~Database() {
  for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::StatusOr<Statement> Database::Prepare(std::string_view sql) {
  {
    std::lock_guard<std::mutex> idle_lock(idle_mutex_);
    auto it = idle_.find(std::string(sql));
    if (it != idle_.end()) {
      sqlite3_stmt* stmt = it->second;
      idle_.erase(it);
      return Statement(this, db_, stmt);
    }
  }
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare " + std::string(sql));
  }
  return Statement(this, db_, stmt);
}

void Database::Recycle(sqlite3_stmt* stmt) {
  // Resetting ends the statement's read of the database (an unfinished SELECT
  // would otherwise hold its snapshot); bindings are cleared so that a stale
  // parameter can never leak into the next use.
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  const char* sql = sqlite3_sql(stmt);
  std::lock_guard<std::mutex> idle_lock(idle_mutex_);
  // A statement prepared many times at once (threads, recursion) leaves as
  // many copies; a handful per text is plenty.
  if (sql == nullptr || idle_.count(sql) >= 4) {
    sqlite3_finalize(stmt);
    return;
  }
  idle_.emplace(sql, stmt);
}

absl::Status Database::Exec(std::string_view sql) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  std::string owned(sql);
  char* error = nullptr;
  if (sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError("sqlite: " + message + " in: " + owned);
  }
  return absl::OkStatus();
}

absl::Status Database::Transaction(const std::function<absl::Status()>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Status status = fn();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) Exec("ROLLBACK").IgnoreError();
  return status;
}

int64_t Database::ChangeCount() {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  return sqlite3_total_changes64(db_);
}

absl::Status Database::WriteUnsynced(const std::function<absl::Status()>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  int64_t previous;
  {
    ASSIGN_OR_RETURN(Statement query, Prepare("PRAGMA synchronous"));
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return absl::InternalError("PRAGMA synchronous returned nothing");
    previous = query.ColumnInt(0);
  }
  if (previous <= 1) return fn();  // Already NORMAL or OFF.
  RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  absl::Status status = fn();
  absl::Status restored = Exec(absl::StrCat("PRAGMA synchronous=", previous));
  return status.ok() ? restored : status;
}

absl::Status Database::Migrate(const std::vector<std::string>& migrations) {
  ASSIGN_OR_RETURN(Statement version_query, Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, version_query.Step());
  size_t applied = row ? static_cast<size_t>(version_query.ColumnInt(0)) : 0;
  if (applied > migrations.size()) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", applied,
                                                      " is newer than this binary (",
                                                      migrations.size(), ")"));
  }
  for (size_t i = applied; i < migrations.size(); ++i) {
    RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
      RETURN_IF_ERROR(Exec(migrations[i]));
      return Exec(absl::StrCat("PRAGMA user_version = ", i + 1));
    }));
  }
  return absl::OkStatus();
}

}  // namespace berth
