// The machinery behind config.cpp's tables: a Key names one config key, the
// field it sets (any member of the section's struct, however deep), how its
// text is parsed and range-checked, and a one-line doc. Reading a mapping
// walks its table, so the table is also the list of known keys; printing a
// default-constructed section through the same table writes the shipped file.
//
//   using K = Keys<IngestOptions>;
//   const std::vector<Key<IngestOptions>> kIngest = {
//       K::Duration("commit_interval", FIELD(pipeline.commit_interval_ms), 1, kDayMs, "state + offsets write period"),
//   };
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace featmon::config {

// A field of a section: FIELD(pipeline.commit_interval_ms) works on both a
// const and a mutable section, for printing and for reading.
#define FIELD(member) [](auto& section) -> auto& { return section.member; }

// Remembers the file (for messages) and its folder (for relative paths).
class Reader {
 public:
  Reader(std::string source, std::string dir) : source_(std::move(source)), dir_(std::move(dir)) {}
  Status Error(const std::string& path, const std::string& what) const {
    return Status::InvalidArgument(source_ + ": " + path + ": " + what);
  }
  // A path in the config relative to the config file's folder.
  std::string Resolve(const std::string& path) const {
    return path.empty() || path[0] == '/' || dir_.empty() ? path : dir_ + "/" + path;
  }
  // No mapping anywhere under `node` repeats a key. yaml-cpp keeps both and
  // a lookup finds the first, so a second `ingest:` block would be ignored
  // silently; refused instead, naming the key's path and both lines.
  Status CheckNoDuplicateKeys(const YAML::Node& node, const std::string& path) const;
  // Every key of `node` must be one of `known`.
  Status CheckKeys(const YAML::Node& node, const std::string& path, const std::vector<std::string>& known) const;
  // Scalar parsers; each names `path` in its error.
  Status String(const YAML::Node& node, const std::string& path, std::string* out) const;
  Status Integer(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out) const;
  Status Duration(const YAML::Node& node, const std::string& path, int64_t min, int64_t max, int64_t* out) const;
  Status Bytes(const YAML::Node& node, const std::string& path, uint64_t min, uint64_t max, uint64_t* out) const;
  Status Double(const YAML::Node& node, const std::string& path, double min, double max, double* out) const;
  Status Bool(const YAML::Node& node, const std::string& path, bool* out) const;
  Status StringList(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) const;

 private:
  std::string source_, dir_;
};

// Values as the shipped file prints them: 5m, 256MB, 0.002, [a, b].
std::string RenderDuration(int64_t ms);
std::string RenderBytes(uint64_t bytes);
std::string RenderDouble(double v);
std::string RenderString(const std::string& s);
std::string RenderList(const std::vector<std::string>& items);

template <typename S>
struct Key {
  using ReadFn = std::function<Status(const Reader&, const YAML::Node&, const std::string& path, S*)>;
  using RenderFn = std::function<std::string(const S&)>;
  std::string name;
  std::string doc;          // one line; the shipped file's comment
  ReadFn read;              // null for a mapping of further keys
  RenderFn render;          // the value as YAML text
  std::vector<Key> children;  // a nested mapping (kafka.topics)
  bool flow = false;          // children printed on one line: {delta: 0.002, clock: 32}
  std::string example;        // no default: printed commented out, with this value
  // A nested section of another type (monitoring.defaults): prints its keys.
  std::function<void(const S&, const std::string& indent, std::string* out)> block;
};

// Builders for one section type S.
template <typename S>
struct Keys {
  static Key<S> Make(std::string name, std::string doc, typename Key<S>::ReadFn read,
                     typename Key<S>::RenderFn render) {
    Key<S> k;
    k.name = std::move(name);
    k.doc = std::move(doc);
    k.read = std::move(read);
    k.render = std::move(render);
    return k;
  }
  template <typename F>
  static Key<S> String(std::string name, F field, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              return r.String(n, path, &field(*s));
            },
            [field](const S& s) { return RenderString(field(s)); });
  }
  template <typename F>
  static Key<S> Integer(std::string name, F field, int64_t min, int64_t max, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field, min, max](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              int64_t v = 0;
              Status st = r.Integer(n, path, min, max, &v);
              if (st.ok()) field(*s) = static_cast<std::remove_reference_t<decltype(field(*s))>>(v);
              return st;
            },
            [field](const S& s) { return std::to_string(field(s)); });
  }
  template <typename F>
  static Key<S> Duration(std::string name, F field, int64_t min_ms, int64_t max_ms, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field, min_ms, max_ms](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              return r.Duration(n, path, min_ms, max_ms, &field(*s));
            },
            [field](const S& s) { return RenderDuration(field(s)); });
  }
  template <typename F>
  static Key<S> Bytes(std::string name, F field, uint64_t min, uint64_t max, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field, min, max](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              uint64_t v = 0;
              Status st = r.Bytes(n, path, min, max, &v);
              if (st.ok()) field(*s) = static_cast<std::remove_reference_t<decltype(field(*s))>>(v);
              return st;
            },
            [field](const S& s) { return RenderBytes(field(s)); });
  }
  template <typename F>
  static Key<S> Double(std::string name, F field, double min, double max, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field, min, max](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              return r.Double(n, path, min, max, &field(*s));
            },
            [field](const S& s) { return RenderDouble(field(s)); });
  }
  template <typename F>
  static Key<S> Bool(std::string name, F field, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              return r.Bool(n, path, &field(*s));
            },
            [field](const S& s) { return std::string(field(s) ? "true" : "false"); });
  }
  template <typename F>
  static Key<S> StringList(std::string name, F field, std::string doc) {
    return Make(std::move(name), std::move(doc),
            [field](const Reader& r, const YAML::Node& n, const std::string& path, S* s) {
              return r.StringList(n, path, &field(*s));
            },
            [field](const S& s) { return RenderList(field(s)); });
  }
  static Key<S> Custom(std::string name, typename Key<S>::ReadFn read, typename Key<S>::RenderFn render,
                       std::string doc) {
    return Make(std::move(name), std::move(doc), std::move(read), std::move(render));
  }
  // A key without a default, shown commented out in the shipped file.
  static Key<S> Example(std::string name, typename Key<S>::ReadFn read, std::string example, std::string doc) {
    Key<S> k = Make(std::move(name), std::move(doc), std::move(read), nullptr);
    k.example = std::move(example);
    return k;
  }
  // A mapping read and printed by another section's table.
  static Key<S> Nested(std::string name, typename Key<S>::ReadFn read,
                       std::function<void(const S&, const std::string& indent, std::string* out)> block,
                       std::string doc) {
    Key<S> k = Make(std::move(name), std::move(doc), std::move(read), nullptr);
    k.block = std::move(block);
    return k;
  }
  static Key<S> Mapping(std::string name, std::vector<Key<S>> children, std::string doc, bool flow = false) {
    Key<S> k = Make(std::move(name), std::move(doc), nullptr, nullptr);
    k.children = std::move(children);
    k.flow = flow;
    return k;
  }
};

// Reads every key of `node` that the table knows; any other key is an error.
template <typename S>
Status ReadKeys(const Reader& r, const YAML::Node& node, const std::string& path, const std::vector<Key<S>>& keys,
                S* section) {
  std::vector<std::string> known;
  for (const auto& k : keys) known.push_back(k.name);
  Status st = r.CheckKeys(node, path, known);
  if (!st.ok()) return st;
  for (const auto& k : keys) {
    const YAML::Node child = node[k.name];
    if (!child) continue;
    const std::string child_path = path.empty() ? k.name : path + "." + k.name;
    st = k.read ? k.read(r, child, child_path, section) : ReadKeys(r, child, child_path, k.children, section);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// One line per key, "name: value" with the doc as a comment at column 35;
// nested mappings indented by two.
void AppendCommentedLine(std::string* out, const std::string& line, const std::string& doc);

template <typename S>
void RenderKeys(const std::vector<Key<S>>& keys, const S& section, const std::string& indent, std::string* out) {
  for (const auto& k : keys) {
    if (!k.example.empty()) {
      AppendCommentedLine(out, indent + "# " + k.name + ": " + k.example, k.doc);
    } else if (k.block) {
      AppendCommentedLine(out, indent + k.name + ":", k.doc);
      k.block(section, indent + "  ", out);
    } else if (k.children.empty()) {
      AppendCommentedLine(out, indent + k.name + ": " + k.render(section), k.doc);
    } else if (k.flow) {
      std::string inline_map;
      for (const auto& c : k.children) inline_map += (inline_map.empty() ? "" : ", ") + c.name + ": " + c.render(section);
      AppendCommentedLine(out, indent + k.name + ": {" + inline_map + "}", k.doc);
    } else {
      AppendCommentedLine(out, indent + k.name + ":", k.doc);
      RenderKeys(k.children, section, indent + "  ", out);
    }
  }
}

}  // namespace featmon::config
