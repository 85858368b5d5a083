#include "imaged/metadata_store.h"

#include <time.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::imaged {

const std::vector<std::string>& MetadataStore::Migrations() {
  static const std::vector<std::string> kMigrations = {
      // 1: images, their layers, tags, and the queue of layers to remove from stored.
      "CREATE TABLE images ("
      "  id TEXT PRIMARY KEY,"
      "  created INTEGER NOT NULL,"
      "  size INTEGER NOT NULL,"
      "  parent TEXT NOT NULL DEFAULT '',"
      "  added INTEGER NOT NULL);"
      "CREATE TABLE image_layers ("
      "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
      "  position INTEGER NOT NULL,"
      "  diff_id TEXT NOT NULL,"
      "  chain_id TEXT NOT NULL,"
      "  blob_digest TEXT NOT NULL,"
      "  size INTEGER NOT NULL,"
      "  PRIMARY KEY (image_id, position));"
      "CREATE INDEX image_layers_chain ON image_layers(chain_id);"
      "CREATE INDEX image_layers_blob ON image_layers(blob_digest);"
      "CREATE TABLE tags ("
      "  reference TEXT PRIMARY KEY,"
      "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
      "CREATE INDEX tags_image ON tags(image_id);"
      "CREATE TABLE layer_removals (chain_id TEXT PRIMARY KEY);",
      // 2: registries: the manifests images came from or went to, and where blobs are.
      "CREATE TABLE repo_digests ("
      "  reference TEXT PRIMARY KEY,"
      "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
      "CREATE INDEX repo_digests_image ON repo_digests(image_id);"
      "CREATE TABLE blob_sources ("
      "  blob_digest TEXT NOT NULL,"
      "  repository TEXT NOT NULL,"
      "  PRIMARY KEY (blob_digest, repository));",
  };
  return kMigrations;
}

absl::StatusOr<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, Migrations()));
  return std::unique_ptr<MetadataStore>(new MetadataStore(std::move(db)));
}

absl::Status MetadataStore::FillImage(ImageRecord* image) {
  ASSIGN_OR_RETURN(Statement layers,
                   db_->Prepare("SELECT diff_id, chain_id, blob_digest, size FROM image_layers "
                                "WHERE image_id = ? ORDER BY position"));
  layers.Bind(1, image->id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, layers.Step());
    if (!row) break;
    image->layers.push_back(LayerRecord{layers.ColumnText(0), layers.ColumnText(1),
                                        layers.ColumnText(2), layers.ColumnInt(3)});
  }
  ASSIGN_OR_RETURN(Statement tags, db_->Prepare("SELECT reference FROM tags WHERE image_id = ? "
                                                "ORDER BY reference"));
  tags.Bind(1, image->id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, tags.Step());
    if (!row) break;
    image->tags.push_back(tags.ColumnText(0));
  }
  ASSIGN_OR_RETURN(Statement digests, db_->Prepare("SELECT reference FROM repo_digests WHERE "
                                                   "image_id = ? ORDER BY reference"));
  digests.Bind(1, image->id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, digests.Step());
    if (!row) break;
    image->repo_digests.push_back(digests.ColumnText(0));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ImageRecord>> MetadataStore::ListImages() {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT id, created, size, parent FROM images "
                                                 "ORDER BY created DESC, id"));
  std::vector<ImageRecord> images;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    ImageRecord image;
    image.id = query.ColumnText(0);
    image.created = query.ColumnInt(1);
    image.size = query.ColumnInt(2);
    image.parent = query.ColumnText(3);
    images.push_back(std::move(image));
  }
  for (ImageRecord& image : images) RETURN_IF_ERROR(FillImage(&image));
  return images;
}

absl::StatusOr<ImageRecord> MetadataStore::GetImage(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT created, size, parent FROM images WHERE id = ?"));
  query.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("image ", id, " not found"));
  ImageRecord image;
  image.id = id;
  image.created = query.ColumnInt(0);
  image.size = query.ColumnInt(1);
  image.parent = query.ColumnText(2);
  RETURN_IF_ERROR(FillImage(&image));
  return image;
}

absl::StatusOr<std::vector<std::string>> MetadataStore::FindByPrefix(
    const std::string& hex_prefix) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  // substr + equality rather than LIKE: a prefix never contains wildcards then.
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT id FROM images WHERE substr(id, 8, ?) = ?"));
  query.Bind(1, static_cast<int64_t>(hex_prefix.size())).Bind(2, hex_prefix);
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    ids.push_back(query.ColumnText(0));
  }
  return ids;
}

absl::StatusOr<std::string> MetadataStore::ResolveTag(const std::string& reference) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT image_id FROM tags WHERE reference = ?"));
  query.Bind(1, reference);
  ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("tag ", reference, " not found"));
  return query.ColumnText(0);
}

absl::Status MetadataStore::Commit(
    const std::vector<ImageRecord>& images,
    const std::vector<std::pair<std::string, std::string>>& tags,
    const std::vector<std::pair<std::string, std::string>>& repo_digests) {
  return db_->Transaction([&]() -> absl::Status {
    for (const ImageRecord& image : images) {
      ASSIGN_OR_RETURN(Statement exists, db_->Prepare("SELECT 1 FROM images WHERE id = ?"));
      exists.Bind(1, image.id);
      ASSIGN_OR_RETURN(bool present, exists.Step());
      if (!present) {
        ASSIGN_OR_RETURN(Statement insert,
                         db_->Prepare("INSERT INTO images (id, created, size, parent, added) "
                                      "VALUES (?, ?, ?, ?, ?)"));
        insert.Bind(1, image.id)
            .Bind(2, image.created)
            .Bind(3, image.size)
            .Bind(4, image.parent)
            .Bind(5, static_cast<int64_t>(time(nullptr)));
        RETURN_IF_ERROR(insert.Run());
        for (size_t i = 0; i < image.layers.size(); ++i) {
          const LayerRecord& layer = image.layers[i];
          ASSIGN_OR_RETURN(Statement insert_layer,
                           db_->Prepare("INSERT INTO image_layers (image_id, position, diff_id, "
                                        "chain_id, blob_digest, size) VALUES (?, ?, ?, ?, ?, ?)"));
          insert_layer.Bind(1, image.id)
              .Bind(2, static_cast<int64_t>(i))
              .Bind(3, layer.diff_id)
              .Bind(4, layer.chain_id)
              .Bind(5, layer.blob_digest)
              .Bind(6, layer.size);
          RETURN_IF_ERROR(insert_layer.Run());
        }
      }
      for (const LayerRecord& layer : image.layers) {
        ASSIGN_OR_RETURN(Statement unqueue,
                         db_->Prepare("DELETE FROM layer_removals WHERE chain_id = ?"));
        unqueue.Bind(1, layer.chain_id);
        RETURN_IF_ERROR(unqueue.Run());
      }
    }
    for (const auto& [reference, image_id] : tags) RETURN_IF_ERROR(SetTag(reference, image_id));
    for (const auto& [reference, image_id] : repo_digests) {
      RETURN_IF_ERROR(SetRepoDigest(reference, image_id));
    }
    return absl::OkStatus();
  });
}

absl::Status MetadataStore::SetRepoDigest(const std::string& reference,
                                          const std::string& image_id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement upsert, db_->Prepare("INSERT OR REPLACE INTO repo_digests "
                                                  "(reference, image_id) VALUES (?, ?)"));
  upsert.Bind(1, reference).Bind(2, image_id);
  return upsert.Run();
}

absl::StatusOr<std::string> MetadataStore::ResolveRepoDigest(const std::string& reference) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT image_id FROM repo_digests WHERE reference = ?"));
  query.Bind(1, reference);
  ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("digest ", reference, " not found"));
  return query.ColumnText(0);
}

absl::Status MetadataStore::RemoveRepoDigest(const std::string& reference) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement query, db_->Prepare("DELETE FROM repo_digests WHERE reference = ? "
                                                   "RETURNING image_id"));
    query.Bind(1, reference);
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("digest ", reference, " not found"));
    return query.Run();
  });
}

absl::Status MetadataStore::AddBlobSource(const std::string& blob_digest,
                                          const std::string& repository) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement insert, db_->Prepare("INSERT OR IGNORE INTO blob_sources "
                                                  "(blob_digest, repository) VALUES (?, ?)"));
  insert.Bind(1, blob_digest).Bind(2, repository);
  return insert.Run();
}

absl::StatusOr<std::vector<std::string>> MetadataStore::BlobSources(
    const std::string& blob_digest) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT repository FROM blob_sources WHERE "
                                                 "blob_digest = ? ORDER BY repository"));
  query.Bind(1, blob_digest);
  std::vector<std::string> repositories;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    repositories.push_back(query.ColumnText(0));
  }
  return repositories;
}

absl::Status MetadataStore::SetTag(const std::string& reference, const std::string& image_id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement upsert,
                   db_->Prepare("INSERT OR REPLACE INTO tags (reference, image_id) VALUES (?, ?)"));
  upsert.Bind(1, reference).Bind(2, image_id);
  return upsert.Run();
}

absl::Status MetadataStore::RemoveTag(const std::string& reference) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement query, db_->Prepare("DELETE FROM tags WHERE reference = ? "
                                                   "RETURNING image_id"));
    query.Bind(1, reference);
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("tag ", reference, " not found"));
    return query.Run();
  });
}

absl::StatusOr<ReleasedResources> MetadataStore::DeleteImage(const std::string& id) {
  ReleasedResources released;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(ImageRecord image, GetImage(id));
    ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM images WHERE id = ?"));
    remove.Bind(1, id);
    RETURN_IF_ERROR(remove.Run());
    ASSIGN_OR_RETURN(std::set<std::string> blobs, ReferencedBlobs());
    ASSIGN_OR_RETURN(std::set<std::string> chains, ReferencedChains());
    std::set<std::string> seen_blobs;
    std::set<std::string> seen_chains;
    if (!blobs.count(id)) released.blobs.push_back(id);
    for (const LayerRecord& layer : image.layers) {
      if (!blobs.count(layer.blob_digest) && seen_blobs.insert(layer.blob_digest).second) {
        released.blobs.push_back(layer.blob_digest);
      }
    }
    for (auto it = image.layers.rbegin(); it != image.layers.rend(); ++it) {
      if (!chains.count(it->chain_id) && seen_chains.insert(it->chain_id).second) {
        released.chains.push_back(it->chain_id);
        RETURN_IF_ERROR(QueueLayerRemoval(it->chain_id));
      }
    }
    return absl::OkStatus();
  }));
  return released;
}

absl::StatusOr<std::vector<std::string>> MetadataStore::Children(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT id FROM images WHERE parent = ?"));
  query.Bind(1, id);
  std::vector<std::string> children;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    children.push_back(query.ColumnText(0));
  }
  return children;
}

absl::StatusOr<std::set<std::string>> MetadataStore::ReferencedBlobs() {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT id FROM images UNION "
                                                 "SELECT blob_digest FROM image_layers"));
  std::set<std::string> blobs;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    blobs.insert(query.ColumnText(0));
  }
  return blobs;
}

absl::StatusOr<std::set<std::string>> MetadataStore::ReferencedChains() {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT DISTINCT chain_id FROM image_layers"));
  std::set<std::string> chains;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    chains.insert(query.ColumnText(0));
  }
  return chains;
}

absl::StatusOr<std::vector<std::string>> MetadataStore::PendingLayerRemovals() {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  // rowid order is insertion order: chains were queued top layer first.
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT chain_id FROM layer_removals ORDER BY rowid"));
  std::vector<std::string> chains;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    chains.push_back(query.ColumnText(0));
  }
  return chains;
}

absl::Status MetadataStore::QueueLayerRemoval(const std::string& chain_id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT OR IGNORE INTO layer_removals (chain_id) VALUES (?)"));
  insert.Bind(1, chain_id);
  return insert.Run();
}

absl::Status MetadataStore::FinishLayerRemoval(const std::string& chain_id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM layer_removals WHERE chain_id = ?"));
  remove.Bind(1, chain_id);
  return remove.Run();
}

}  // namespace berth::imaged
