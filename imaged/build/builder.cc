#include "imaged/build/builder.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status.h"
#include "imaged/build/dispatch.h"
#include "imaged/build/go_format.h"
#include "imaged/build/parser.h"
#include "imaged/build/shell_lex.h"

namespace berth::imaged::build {
namespace {

std::vector<std::string> EnvList(const std::map<std::string, std::string>& values) {
  std::vector<std::string> env;
  for (const auto& [key, value] : values) env.push_back(key + "=" + value);
  return env;
}

absl::StatusOr<std::string> Expand(const ShellLex& lex, const std::string& word,
                                   const std::vector<std::string>& env) {
  absl::StatusOr<std::string> expanded = lex.ProcessWord(word, env);
  if (!expanded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to process ", GoQuote(word), ": ", expanded.status().message()));
  }
  return expanded;
}

// A global ARG (before the first FROM): in scope for FROM lines.
absl::Status AddMetaArg(const ShellLex& lex, const Command& meta, BuildArgs& args) {
  std::vector<std::string> env = EnvList(args.GetAllAllowed());
  for (const KeyValue& pair : meta.pairs) {
    std::optional<std::string> value = pair.value;
    if (value.has_value()) {
      ASSIGN_OR_RETURN(*value, Expand(lex, *value, env));
    }
    args.AddArg(pair.key, value);
    args.AddMetaArg(pair.key, value);
  }
  return absl::OkStatus();
}

// What a stage's FROM names once expanded: an earlier stage, scratch or an
// image reference, and the platform its image is for.
struct StageBase {
  std::string reference;
  std::string platform;
  // The earlier stage it names, or -1.
  int stage = -1;
  bool image() const { return stage < 0 && reference != "scratch"; }
};

absl::StatusOr<StageBase> ExpandStageBase(const Instructions& in, int index, const BuildArgs& args,
                                          const std::string& build_platform) {
  const Stage& stage = in.stages[index];
  ShellLex lex(in.escape_token);
  std::vector<std::string> meta = EnvList(args.GetAllMeta());
  StageBase base;
  ASSIGN_OR_RETURN(base.reference, Expand(lex, stage.base, meta));
  if (base.reference.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("base name (", stage.base, ") should not be blank"));
  }
  ASSIGN_OR_RETURN(std::string platform, Expand(lex, stage.platform, meta));
  ASSIGN_OR_RETURN(base.platform, NormalizePlatform(platform));
  if (base.platform.empty()) base.platform = build_platform;
  // FROM names only earlier stages; anything else (its own name included,
  // as in "FROM ubuntu AS ubuntu") is an image, as in Docker's legacy builder.
  for (int i = 0; i < index; ++i) {
    if (!in.stages[i].name.empty() && in.stages[i].name == absl::AsciiStrToLower(base.reference)) {
      base.stage = i;
    }
  }
  return base;
}

// One build: the state that lives from the first step to the last.
class BuildRun {
 public:
  BuildRun(const Builder::Dependencies& deps, const BuildOptions& options,
           const SourceTree& context, BuildOutput& output)
      : deps_(deps),
        options_(options),
        context_(context),
        output_(output),
        args_(options.build_args, PlatformArgs(options.platform)) {}

  // prepared: the plan of dockerfile with these options, when known.
  absl::StatusOr<std::string> Run(const std::string& dockerfile, const BuildPlan* prepared) {
    if (prepared != nullptr) {
      plan_ = *prepared;
    } else {
      ASSIGN_OR_RETURN(plan_, MakePlan(dockerfile, PlanOptions{options_.target, options_.labels}));
    }
    if (!options_.no_cache) {
      for (const std::string& reference : options_.cache_from) {
        absl::StatusOr<ImageRecord> source =
            deps_.images->Resolve(reference, options_.platform, /*pull=*/false, LineFn());
        if (source.ok()) {
          cache_sources_.push_back(std::move(*source));
        } else if (!absl::IsNotFound(source.status())) {
          return source.status();
        }
      }
    }
    for (const std::string& warning : plan_.warnings)
      RETURN_IF_ERROR(output_.Stream(warning + "\n"));
    const Instructions& in = plan_.instructions;
    ShellLex lex(in.escape_token);
    for (const Command& meta : in.meta_args) {
      RETURN_IF_ERROR(output_.StepLine(step_++, plan_.total_steps, meta.original));
      RETURN_IF_ERROR(AddMetaArg(lex, meta, args_));
    }
    for (int i = 0; i < static_cast<int>(in.stages.size()); ++i) {
      RETURN_IF_ERROR(BuildStage(i));
    }
    std::string unused = args_.UnusedWarning();
    if (!unused.empty()) RETURN_IF_ERROR(output_.Stream(unused));
    if (image_.id.empty()) {
      return absl::InvalidArgumentError("No image was generated. Is your Dockerfile empty?");
    }
    RETURN_IF_ERROR(deps_.images->Confirm(image_.id));
    RETURN_IF_ERROR(output_.Stream(absl::StrCat("Successfully built ", ShortId(image_.id), "\n")));
    for (const std::string& tag : options_.tags) {
      RETURN_IF_ERROR(deps_.writer->Tag(image_.id, tag));
      RETURN_IF_ERROR(output_.Stream(absl::StrCat("Successfully tagged ", tag, "\n")));
    }
    return image_.id;
  }

  int exit_code() const { return exit_code_; }
  bool from_cache_only() const { return from_cache_only_; }
  // The cache entries the build reused, in order.
  const std::vector<std::string>& reused() const { return reused_; }

 private:
  LineFn Progress() {
    return [this](const std::string& line) {
      output_.Stream(line).IgnoreError();
      output_.Flush().IgnoreError();
    };
  }

  absl::Status BuildStage(int index) {
    const Instructions& in = plan_.instructions;
    const Stage& stage = in.stages[index];
    RETURN_IF_ERROR(output_.StepLine(step_++, plan_.total_steps, stage.original));
    // The base image may have to be pulled.
    RETURN_IF_ERROR(output_.Flush());
    ASSIGN_OR_RETURN(StageBase base, ExpandStageBase(in, index, args_, options_.platform));
    platform_ = base.platform;
    if (base.stage >= 0) {
      image_ = stages_[base.stage];
    } else if (!base.image()) {
      image_ = ImageRecord{};
    } else {
      ASSIGN_OR_RETURN(image_,
                       deps_.images->Resolve(base.reference, platform_, options_.pull, Progress()));
    }
    state_ = std::make_unique<StageState>(args_, in.escape_token);
    state_->Begin(stage.name, image_.config.value("config", Json::object()));
    RETURN_IF_ERROR(output_.Stream(absl::StrCat(" ---> ", ShortId(image_.id), "\n")));

    Json& config = state_->mutable_config();
    if (config.contains("OnBuild") && config["OnBuild"].is_array() && !config["OnBuild"].empty()) {
      std::vector<std::string> triggers;
      for (const Json& trigger : config["OnBuild"]) {
        if (trigger.is_string()) triggers.push_back(trigger.get<std::string>());
      }
      // The triggers run once, in this build; the new image does not inherit them.
      config["OnBuild"] = nullptr;
      RETURN_IF_ERROR(output_.Stream(absl::StrCat("# Executing ", triggers.size(), " build trigger",
                                                  triggers.size() > 1 ? "s" : "", "\n")));
      for (const std::string& trigger : triggers) {
        ASSIGN_OR_RETURN(Node node, ParseLine(trigger, '\\'));
        ASSIGN_OR_RETURN(Command command, ParseCommand(node));
        RETURN_IF_ERROR(RunStep(index, command));
        RETURN_IF_ERROR(output_.Flush());
      }
      RETURN_IF_ERROR(output_.Stream(absl::StrCat(" ---> ", ShortId(image_.id), "\n")));
    }
    for (const Command& command : stage.commands) {
      if (options_.cancelled && options_.cancelled()) {
        return absl::CancelledError("Build cancelled");
      }
      RETURN_IF_ERROR(output_.StepLine(step_++, plan_.total_steps, command.original));
      RETURN_IF_ERROR(RunStep(index, command));
      // A step that works flushed its step line before working (RunStep).
      RETURN_IF_ERROR(output_.FlushDue());
    }
    if (!image_.id.empty()) RETURN_IF_ERROR(output_.Aux(image_.id));
    args_.MergeReferencedArgs(state_->args());
    stages_.push_back(image_);
    return absl::OkStatus();
  }

  absl::StatusOr<ImageRecord> CopySourceImage(int index, const std::string& from) {
    ASSIGN_OR_RETURN(int stage_ref, ResolveStageReference(plan_.instructions, index, from));
    if (stage_ref >= 0) return stages_[stage_ref];
    absl::StatusOr<ImageRecord> image =
        deps_.images->Resolve(from, platform_, options_.pull, Progress());
    if (!image.ok()) {
      return absl::Status(image.status().code(), absl::StrCat("invalid from flag value ", from,
                                                              ": ", image.status().message()));
    }
    return image;
  }

  absl::Status RunStep(int index, const Command& command) {
    ASSIGN_OR_RETURN(Step step, state_->Dispatch(command));
    for (const std::string& note : step.notes) RETURN_IF_ERROR(output_.Stream(note));
    CopyPlan copy_plan;
    std::unique_ptr<SourceTree> from_tree;
    const SourceTree* source = &context_;
    if (step.action == StepAction::kCopy) {
      if (!step.copy.from.empty()) {
        ASSIGN_OR_RETURN(ImageRecord from, CopySourceImage(index, step.copy.from));
        ASSIGN_OR_RETURN(from_tree, deps_.layers->OpenImage(from));
        source = from_tree.get();
      }
      absl::Status dir_error;
      ASSIGN_OR_RETURN(copy_plan, ResolveCopy(*source, step.copy, [&](const std::string& path) {
                         absl::StatusOr<bool> is_dir = deps_.layers->IsDirectory(image_, path);
                         if (!is_dir.ok()) {
                           dir_error = is_dir.status();
                           return false;
                         }
                         return *is_dir;
                       }));
      RETURN_IF_ERROR(dir_error);
      ASSIGN_OR_RETURN(bool downloaded, Download(&copy_plan));
      if (downloaded) {
        from_cache_only_ = false;
        download_tree_ = std::make_unique<DirectoryTree>(DownloadDir());
        mounted_ = std::make_unique<MountedTree>(*source, "/downloads", *download_tree_);
        source = mounted_.get();
      }
      step.created_by = CopyCreatedBy(state_->Shell(), step.copy.instruction, copy_plan.source_hash,
                                      step.copy.dest);
    }
    std::string key = CacheKey(image_.id, step.cache_text, copy_plan.checksum);
    if (!options_.no_cache) {
      ASSIGN_OR_RETURN(std::optional<std::string> cached, deps_.cache->Lookup(key));
      if (cached.has_value()) {
        absl::StatusOr<ImageRecord> hit =
            deps_.images->Resolve(*cached, platform_, /*pull=*/false, Progress());
        // A cached image that was removed since is a miss; with --cache-from
        // only a part of a source counts (Moby's ImageCache).
        if (hit.ok() && (cache_sources_.empty() || PartOfSource(*hit))) {
          reused_.push_back(key);
          RETURN_IF_ERROR(output_.Stream(" ---> Using cache\n"));
          image_ = std::move(*hit);
          return output_.Stream(absl::StrCat(" ---> ", ShortId(image_.id), "\n"));
        }
      }
    }
    // Not from the cache: the step line shows while the step works.
    from_cache_only_ = false;
    RETURN_IF_ERROR(output_.Flush());
    // The step builds on image_: it must still be there.
    if (!image_.id.empty()) RETURN_IF_ERROR(deps_.images->Confirm(image_.id));
    if (!options_.no_cache) {
      ASSIGN_OR_RETURN(std::optional<ImageRecord> restored, FromSources(step));
      if (restored.has_value()) {
        RETURN_IF_ERROR(deps_.cache->Record(key, restored->id));
        RETURN_IF_ERROR(output_.Stream(" ---> Using cache\n"));
        image_ = std::move(*restored);
        return output_.Stream(absl::StrCat(" ---> ", ShortId(image_.id), "\n"));
      }
    }
    Layer layer;
    switch (step.action) {
      case StepAction::kMetadata:
        break;
      case StepAction::kRun: {
        ASSIGN_OR_RETURN(layer, RunContainer(step));
        break;
      }
      case StepAction::kCopy: {
        ASSIGN_OR_RETURN(layer, deps_.layers->CommitCopy(image_, copy_plan, *source));
        break;
      }
      case StepAction::kWorkdir: {
        ASSIGN_OR_RETURN(
            layer, deps_.layers->CommitWorkdir(image_, step.workdir,
                                               state_->config().value("User", std::string())));
        break;
      }
    }
    Json child = ChildImage(image_, state_->config(), state_->author(), step.created_by, layer,
                            deps_.now(), platform_);
    ASSIGN_OR_RETURN(std::string id, deps_.writer->Write(child, image_.id));
    RETURN_IF_ERROR(deps_.cache->Record(key, id));
    image_ = ImageRecord{id, std::move(child)};
    return output_.Stream(absl::StrCat(" ---> ", ShortId(id), "\n"));
  }

  static const Json& HistoryOf(const ImageRecord& image) {
    static const Json kEmpty = Json::array();
    auto it = image.config.find("history");
    return it != image.config.end() && it->is_array() ? *it : kEmpty;
  }
  static const Json& DiffIdsOf(const ImageRecord& image) {
    static const Json kEmpty = Json::array();
    auto rootfs = image.config.find("rootfs");
    if (rootfs == image.config.end() || !rootfs->is_object()) return kEmpty;
    auto ids = rootfs->find("diff_ids");
    return ids != rootfs->end() && ids->is_array() ? *ids : kEmpty;
  }
  // Whether source's history and layers begin with image's (Moby's
  // isValidParent): then image stands for a prefix of source.
  static bool IsPrefixOf(const ImageRecord& image, const ImageRecord& source) {
    const Json& history = HistoryOf(image);
    const Json& source_history = HistoryOf(source);
    const Json& layers = DiffIdsOf(image);
    const Json& source_layers = DiffIdsOf(source);
    if (history.size() > source_history.size() || layers.size() > source_layers.size()) {
      return false;
    }
    for (size_t i = 0; i < history.size(); ++i) {
      if (history[i] != source_history[i]) return false;
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      if (layers[i] != source_layers[i]) return false;
    }
    return true;
  }
  bool PartOfSource(const ImageRecord& image) const {
    for (const ImageRecord& source : cache_sources_) {
      if (image.id == source.id || (!image.id.empty() && IsPrefixOf(image, source))) return true;
    }
    return false;
  }

  // A step taken from a --cache-from image: the source's next history entry
  // after the parent's is this step; the image is rebuilt from the parent,
  // that entry and its layer (Moby's restoreCachedImage), without running
  // anything.
  absl::StatusOr<std::optional<ImageRecord>> FromSources(const Step& step) {
    const Json& history = HistoryOf(image_);
    const size_t layers = DiffIdsOf(image_).size();
    for (const ImageRecord& source : cache_sources_) {
      if (!IsPrefixOf(image_, source)) continue;
      const Json& source_history = HistoryOf(source);
      if (source_history.size() <= history.size()) continue;
      const Json& entry = source_history[history.size()];
      if (!entry.is_object() || entry.value("created_by", std::string()) != step.created_by) {
        continue;
      }
      Layer layer;
      if (!entry.value("empty_layer", false)) {
        const Json& source_layers = DiffIdsOf(source);
        if (source_layers.size() <= layers || !source_layers[layers].is_string()) continue;
        layer.diff_id = source_layers[layers].get<std::string>();
      }
      Json child =
          ChildImage(image_, state_->config(), entry.value("author", std::string()),
                     step.created_by, layer, entry.value("created", deps_.now()), platform_);
      child["history"].back() = entry;
      ASSIGN_OR_RETURN(std::string id, deps_.writer->Write(child, image_.id));
      return std::optional<ImageRecord>(ImageRecord{id, std::move(child)});
    }
    return std::optional<ImageRecord>();
  }

  std::string DownloadDir() const { return absl::StrCat(deps_.scratch_dir, "/downloads-", step_); }

  // Fetches ADD's URLs (every time, as Docker does: the content decides the
  // cache) and turns them into files of a tree mounted at /downloads.
  absl::StatusOr<bool> Download(CopyPlan* plan) {
    bool any = false;
    std::string digests;
    int n = 0;
    for (CopyItem& item : plan->items) {
      if (item.kind != CopyItem::Kind::kDownload) continue;
      if (deps_.downloader == nullptr || deps_.scratch_dir.empty()) {
        return absl::UnimplementedError(
            absl::StrCat("ADD failed: downloading ", item.source, " is not supported here"));
      }
      if (!any) RETURN_IF_ERROR(MakeDirs(DownloadDir(), 0700));
      any = true;
      std::string name = absl::StrCat(n++);
      absl::Status fetched =
          deps_.downloader->Fetch(item.source, DownloadDir() + "/" + name, Progress());
      if (!fetched.ok()) {
        return absl::Status(fetched.code(),
                            absl::StrCat("ADD failed: ", item.source, ": ", fetched.message()));
      }
      ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> in, DirectoryTree(DownloadDir()).Open(name));
      Sha256 hash;
      char buffer[1 << 16];
      while (true) {
        ASSIGN_OR_RETURN(size_t count, in->Read(buffer, sizeof(buffer)));
        if (count == 0) break;
        hash.Update(buffer, count);
      }
      digests += absl::StrCat(item.source, " ", hash.Finish(), "\n");
      item.kind = CopyItem::Kind::kFile;
      item.source = "/downloads/" + name;
    }
    if (any) plan->checksum = Sha256Digest(plan->checksum + "\n" + digests);
    return any;
  }

  absl::StatusOr<Layer> RunContainer(const Step& step) {
    StepRunner::Request request;
    request.image = image_;
    request.config = state_->config();
    request.config["Cmd"] = step.run_command;
    request.config["Env"] = step.run_env;
    request.config["Entrypoint"] = nullptr;
    // A RUN container is not health-checked, as in Docker.
    request.config.erase("Healthcheck");
    request.config.erase("OnBuild");
    request.host_config = options_.host_config;
    request.cancelled = options_.cancelled;
    const bool keep = options_.keep_containers && !options_.force_rm;
    request.keep = keep;
    ASSIGN_OR_RETURN(std::string container, deps_.runner->Create(request));
    absl::StatusOr<Layer> layer = RunAndCommit(container, step);
    if (keep) return layer;
    absl::Status removed = deps_.runner->Remove(container);
    RETURN_IF_ERROR(layer.status());
    RETURN_IF_ERROR(removed);
    RETURN_IF_ERROR(
        output_.Stream(absl::StrCat("Removing intermediate container ", ShortId(container), "\n")));
    return layer;
  }

  absl::StatusOr<Layer> RunAndCommit(const std::string& container, const Step& step) {
    RETURN_IF_ERROR(output_.Stream(absl::StrCat(" ---> Running in ", ShortId(container), "\n")));
    RETURN_IF_ERROR(output_.Flush());
    ASSIGN_OR_RETURN(int code, deps_.runner->Run(container, Progress()));
    if (code != 0) {
      exit_code_ = code;
      return absl::UnknownError(absl::StrCat("The command '", absl::StrJoin(step.run_command, " "),
                                             "' returned a non-zero code: ", code));
    }
    return deps_.layers->CommitContainer(container);
  }

  const Builder::Dependencies& deps_;
  const BuildOptions& options_;
  const SourceTree& context_;
  BuildOutput& output_;
  BuildArgs args_;
  BuildPlan plan_;
  int step_ = 1;
  std::unique_ptr<StageState> state_;
  ImageRecord image_;
  std::string platform_;
  std::vector<ImageRecord> stages_;
  // --cache-from images found.
  std::vector<ImageRecord> cache_sources_;
  // The downloads of the current step and the tree that shows them.
  std::unique_ptr<SourceTree> download_tree_;
  std::unique_ptr<SourceTree> mounted_;
  int exit_code_ = 0;
  std::vector<std::string> reused_;
  bool from_cache_only_ = true;
};

}  // namespace

Json ChildImage(const ImageRecord& parent, const Json& container_config, const std::string& author,
                const std::string& created_by, const Layer& layer, const std::string& created,
                const std::string& platform) {
  Json image = Json::object();
  std::map<std::string, std::string> target = PlatformArgs(platform);
  image["architecture"] = parent.config.value("architecture", target["TARGETARCH"]);
  image["os"] = parent.config.value("os", target["TARGETOS"]);
  if (parent.config.contains("variant")) {
    image["variant"] = parent.config["variant"];
  } else if (parent.id.empty() && !target["TARGETVARIANT"].empty()) {
    image["variant"] = target["TARGETVARIANT"];
  }
  image["config"] = container_config;
  image["created"] = created;
  if (!author.empty()) image["author"] = author;
  Json history = parent.config.value("history", Json::array());
  Json entry = Json::object();
  entry["created"] = created;
  entry["created_by"] = created_by;
  if (!author.empty()) entry["author"] = author;
  if (layer.diff_id.empty()) entry["empty_layer"] = true;
  history.push_back(entry);
  image["history"] = history;
  Json diff_ids = Json::array();
  const Json& rootfs = parent.config.value("rootfs", Json::object());
  if (rootfs.is_object() && rootfs.contains("diff_ids")) diff_ids = rootfs["diff_ids"];
  if (!layer.diff_id.empty()) diff_ids.push_back(layer.diff_id);
  image["rootfs"] = Json{{"type", "layers"}, {"diff_ids", diff_ids}};
  return image;
}

absl::StatusOr<std::string> Builder::Build(const BuildOptions& options,
                                           const std::string& dockerfile, const SourceTree& context,
                                           BuildOutput& output) {
  BuildOptions normalized = options;
  ASSIGN_OR_RETURN(normalized.platform, NormalizePlatform(options.platform));
  BuildRun run(deps_, normalized, context, output);
  const bool prepared = prepared_ != nullptr && prepared_->dockerfile == dockerfile &&
                        prepared_->plan_options.target == options.target &&
                        prepared_->plan_options.labels == options.labels;
  absl::StatusOr<std::string> id = run.Run(dockerfile, prepared ? &prepared_->plan : nullptr);
  from_cache_only_ = id.ok() && run.from_cache_only();
  // Also after a failure: the steps reused before it were used. Losing this
  // only ages the entries (an earlier prune by --filter until), so it does
  // not fail a build whose images are stored.
  absl::Status touched = deps_.cache->Touch(run.reused());
  if (!touched.ok()) spdlog::warn("build cache: marking entries used: {}", touched.ToString());
  if (!id.ok()) {
    // Before any output (a Dockerfile that does not parse) the error is the
    // reply; after, it ends the stream.
    if (output.started()) {
      output.Error(std::string(id.status().message()), run.exit_code()).IgnoreError();
    }
    return id.status();
  }
  RETURN_IF_ERROR(output.Finish(*id));
  return id;
}

void Builder::Prepare(const BuildOptions& options, const std::string& dockerfile) {
  PlanOptions plan_options{options.target, options.labels};
  absl::StatusOr<BuildPlan> plan = MakePlan(dockerfile, plan_options);
  absl::StatusOr<std::string> platform = NormalizePlatform(options.platform);
  if (!plan.ok() || !platform.ok()) return;
  prepared_ = std::make_unique<Prepared>(Prepared{dockerfile, plan_options, std::move(*plan)});
  // --pull asks the registry first: nothing to look up ahead.
  if (options.pull) return;
  const Instructions& in = prepared_->plan.instructions;
  BuildArgs args(options.build_args, PlatformArgs(*platform));
  ShellLex lex(in.escape_token);
  for (const Command& meta : in.meta_args) {
    if (!AddMetaArg(lex, meta, args).ok()) return;
  }
  std::set<std::pair<std::string, std::string>> hinted;
  for (int i = 0; i < static_cast<int>(in.stages.size()); ++i) {
    absl::StatusOr<StageBase> base = ExpandStageBase(in, i, args, *platform);
    if (!base.ok()) return;
    if (base->image() && hinted.emplace(base->reference, base->platform).second) {
      deps_.images->Prefetch(base->reference, base->platform);
    }
  }
}

}  // namespace berth::imaged::build
