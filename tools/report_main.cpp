// featmon-report: one model's page from a running featmond, saved as one
// self-contained HTML file (no server, no network needed to open it).
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "daemon/http/http_client.h"
#include "daemon/http/url.h"
#include "daemon/ui/saved_report.h"

namespace {

using featmon::Result;
using featmon::Status;

// The token featmond's monitoring routes ask for, from a file (one line).
Result<std::string> ReadToken(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) return Status::InvalidArgument("cannot read a token from " + path);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

Result<std::string> FetchReport(const std::string& base_url, const std::string& model, const std::string& token) {
  auto url = featmon::ParseHttpUrl(base_url);
  if (!url.ok()) return url.status();
  std::string base = url->target;
  while (!base.empty() && base.back() == '/') base.pop_back();
  url->target = base + "/v1/monitoring/models/" + featmon::PercentEncode(model);
  featmon::HttpCall call;
  call.timeout_ms = 30'000;
  if (!token.empty()) call.authorization = "Bearer " + token;
  auto answer = featmon::HttpExchange(*url, call);
  if (!answer.ok())
    return Status::Unavailable("no answer from " + base_url + " (" + answer.status().message() +
                               "); is featmond running there, and is that its http.listen address?");
  if (answer->status == 401)
    return Status::InvalidArgument(base_url + " asks for a bearer token: pass --token-file with featmond's token");
  if (answer->status == 404)
    return Status::NotFound(base_url + ": " + answer->body + " (the models it knows: " + base_url +
                            "/v1/monitoring/models)");
  if (answer->status != 200)
    return Status::Unavailable(base_url + " answered " + std::to_string(answer->status) + ": " + answer->body);
  return std::move(answer->body);
}

// Written beside, then renamed: a reader never sees half a file.
Status WriteFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return Status::IOError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"featmon-report: a model's monitoring page saved as one HTML file that opens with no network"};
  std::string url, model, out, version, token_file;
  cli.add_option("--url", url, "featmond's HTTP address, e.g. http://localhost:8080")->required();
  cli.add_option("--model", model, "the model to report on")->required();
  cli.add_option("--out", out, "the HTML file to write")->required();
  cli.add_option("--version", version, "the model version shown first (default: the latest seen)");
  cli.add_option("--token-file", token_file, "a file holding featmond's bearer token, if it asks for one");
  CLI11_PARSE(cli, argc, argv);

  auto token = ReadToken(token_file);
  auto report = token.ok() ? FetchReport(url, model, *token) : Result<std::string>(token.status());
  if (!report.ok()) {
    std::cerr << "featmon-report: " << report.status().message() << "\n";
    return report.status().code() == featmon::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  auto html = featmon::ui::SavedReportHtml({std::move(*report), version, url, now_ms});
  if (!html.ok()) {
    std::cerr << "featmon-report: " << html.status().message() << "\n";
    return 1;
  }
  if (Status st = WriteFile(out, *html); !st.ok()) {
    std::cerr << "featmon-report: " << st.message() << "\n";
    return 1;
  }
  std::cout << "featmon-report: wrote " << out << " (" << html->size() << " bytes): " << model
            << "'s page, open it in any browser\n";
  return 0;
}
