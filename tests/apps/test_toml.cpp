// TOML config reader (apps/io/toml.h): values, tables, errors with file:line, and --set overrides.
#include <doctest/doctest.h>
#include "base/error.h"
#include "apps/io/toml.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using asyndgan::test::contains_all;
using asyndgan::test::error_message;

namespace {
const Json& at(const TomlConfig& c, const std::string& key) {
  const TomlEntry* e = c.find(key);
  REQUIRE_MESSAGE(e != nullptr, "missing key " << key);
  return e->value;
}
std::string parse_error(const std::string& text) {
  return error_message<FormatError>([&] { parse_toml(text, "run.toml"); });
}
}  // namespace

TEST_CASE("toml: a run config flattens to dotted keys in file order with their lines") {
  const char* text = R"(# AsynDGAN run
name = "smoke"   # trailing comment
seed = 1_234

[train]
lr = 2e-4
betas = [0.5, 0.999]
iterations = 0x10
weights = "balance"
amp = false
l1.lambda = 100.0

[model . generator]
kind = 'unet_256'
dropout = +0.5
)";
  TomlConfig c = parse_toml(text, "run.toml");
  std::vector<std::string> keys;
  for (const auto& e : c.entries()) keys.push_back(e.key);
  CHECK(keys == std::vector<std::string>{"name", "seed", "train.lr", "train.betas", "train.iterations", "train.weights",
                                         "train.amp", "train.l1.lambda", "model.generator.kind", "model.generator.dropout"});
  CHECK(at(c, "name") == "smoke");
  CHECK(at(c, "seed").is_number_integer());
  CHECK(at(c, "seed") == 1234);
  CHECK(at(c, "train.lr").is_number_float());
  CHECK(at(c, "train.lr") == 2e-4);
  CHECK(at(c, "train.betas").dump() == "[0.5,0.999]");
  CHECK(at(c, "train.iterations") == 16);
  CHECK(at(c, "train.amp") == false);
  CHECK(at(c, "train.l1.lambda").is_number_float());
  CHECK(at(c, "model.generator.kind") == "unet_256");
  CHECK(at(c, "model.generator.dropout") == 0.5);
  CHECK(c.find("train.lr")->origin == "run.toml:6");
  CHECK(c.find("model.generator.dropout")->origin == "run.toml:15");
  CHECK(c.find("train") == nullptr);
}

TEST_CASE("toml: strings, numbers and arrays") {
  TomlConfig c = parse_toml(R"(a = "tab\there \"q\" \\ \u00e9 \U0001F600"
b = 'C:\path\no escapes'
c = """
line one
line \
    two"""
d = '''
raw \n
'''
e = [
  "x",   # comment inside
  'y',
]
f = [[1, 2], [], [3.5, -4]]
g = -0
h = 1_000.5e-1_0
i = 0b101
j = 0o17
k = -9223372036854775808
l = 5E+2
m = { x = 1, y.z = "w" }
n = [{ site = "a", n = 3 }]
)");
  CHECK(at(c, "a") == "tab\there \"q\" \\ \xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(at(c, "b") == "C:\\path\\no escapes");
  CHECK(at(c, "c") == "line one\nline two");
  CHECK(at(c, "d") == "raw \\n\n");
  CHECK(at(c, "e").dump() == R"(["x","y"])");
  CHECK(at(c, "f").dump() == "[[1,2],[],[3.5,-4]]");
  CHECK(at(c, "g") == 0);
  CHECK(at(c, "h").get<double>() == doctest::Approx(1000.5e-10));
  CHECK(at(c, "i") == 5);
  CHECK(at(c, "j") == 15);
  CHECK(at(c, "k").get<int64_t>() == INT64_MIN);
  CHECK(at(c, "l") == 500.0);
  CHECK(at(c, "m.x") == 1);
  CHECK(at(c, "m.y.z") == "w");
  CHECK(at(c, "n").dump() == R"([{"site":"a","n":3}])");
}

TEST_CASE("toml: array tables number their elements and nested headers follow the latest one") {
  TomlConfig c = parse_toml(R"(
[[sites]]
name = "a"
[sites.data]
shard = "a.shard"
[[sites]]
name = "b"
)");
  CHECK(at(c, "sites.0.name") == "a");
  CHECK(at(c, "sites.0.data.shard") == "a.shard");
  CHECK(at(c, "sites.1.name") == "b");
  CHECK(c.to_json().dump() == R"({"sites":{"0":{"name":"a","data":{"shard":"a.shard"}},"1":{"name":"b"}}})");
}

// toml++ words the syntax errors; what is checked is the place (file:line:column) and the gist.
TEST_CASE("toml: errors name the file, the line and what is wrong") {
  CHECK(contains_all(parse_error("a = 1\na = 2\n"), {"run.toml:2:", "redefine", "'a'"}));
  CHECK(contains_all(parse_error("[t]\nx = 1\n[t]\n"), {"run.toml:3:", "redefine", "'t'"}));
  CHECK(contains_all(parse_error("a = 1\na.b = 2\n"), {"run.toml:2:", "redefine existing integer"}));
  CHECK(contains_all(parse_error("\n\nnorm = instance\n"), {"run.toml:3:", "strings need quotes", "\"instance\""}));
  CHECK(contains_all(parse_error("x = \"open\n"), {"run.toml:1:", "parsing string"}));
  CHECK(contains_all(parse_error("x = [1, 2\ny = 3\n"), {"run.toml:2:", "expected comma or closing ']'"}));
  CHECK(contains_all(parse_error("x = 1 2\n"), {"run.toml:1:7", "saw '2'"}));
  CHECK(contains_all(parse_error("x = 012\n"), {"leading zero"}));
  CHECK(contains_all(parse_error("x = 1__0\n"), {"underscores"}));
  CHECK(contains_all(parse_error("x = 1.\n"), {"expected decimal digit"}));
  CHECK(contains_all(parse_error("x = 1e999\n"), {"'1e999' could not be interpreted"}));
  CHECK(contains_all(parse_error("x = 99999999999999999999\n"), {"64 bits"}));
  CHECK(contains_all(parse_error("\nx = inf\n"), {"run.toml:2", "inf and nan"}));
  CHECK(contains_all(parse_error("y = [1.0, -nan]\n"), {"run.toml:1", "inf and nan"}));
  CHECK(contains_all(parse_error("x = 1979-05-27\n"), {"run.toml:1", "'1979-05-27'", "dates"}));
  CHECK(contains_all(parse_error("x = [07:32:00]\n"), {"dates"}));
  CHECK(contains_all(parse_error("x = \"\\q\"\n"), {"unknown escape"}));
  CHECK(contains_all(parse_error("x =\n"), {"run.toml:1:", "expected value"}));
  CHECK(contains_all(parse_error("= 1\n"), {"expected keys"}));
  CHECK(contains_all(parse_error("[a\n"), {"']'"}));
  CHECK(contains_all(parse_error("m = {x = 1, x = 2}\n"), {"redefine"}));
  CHECK(contains_all(parse_error("\"a.b\" = 1\n"), {"run.toml:1", "contains '.'"}));
  CHECK(contains_all(parse_error("[t]\n\"\" = 1\n"), {"run.toml:2", "empty quoted key"}));
}

TEST_CASE("toml: to_toml writes text that reads back to the same entries") {
  TomlConfig c = parse_toml(R"(
name = "q\"uote\n"
lr = 1.0
tiny = 2e-4
n = 3
on = true
list = [1, "two", [3.0]]
[[sites]]
"odd key" = 'x'
)");
  TomlConfig back = parse_toml(c.to_toml(), "resolved.toml");
  REQUIRE(back.entries().size() == c.entries().size());
  for (size_t i = 0; i < c.entries().size(); ++i) {
    CHECK(back.entries()[i].key == c.entries()[i].key);
    CHECK(back.entries()[i].value.dump() == c.entries()[i].value.dump());
    CHECK(back.entries()[i].value.type() == c.entries()[i].value.type());
  }
  CHECK(at(back, "lr").is_number_float());  // 1.0 stays a float
  CHECK(c.to_toml().find("sites.0.\"odd key\" = \"x\"") != std::string::npos);
}

TEST_CASE("toml: --set overrides replace or add values, bare words are strings") {
  TomlConfig c = parse_toml("[train]\nlr = 2e-4\nnorm = \"batch\"\n", "run.toml");
  apply_override(c, "train.lr=1e-3");
  apply_override(c, "train.norm = instance");
  apply_override(c, "out=runs/a b");
  apply_override(c, "train.betas=[0.9, 0.99]");
  apply_override(c, "train.name=\"x y\"");
  apply_override(c, "train.flag=true");
  apply_override(c, "when=1979-05-27");       // not a config value, so a bare word
  apply_override(c, "loss={l1 = 5, gan = \"lsgan\"}");  // an inline table sets each of its keys
  CHECK(at(c, "train.lr") == 1e-3);
  CHECK(c.find("train.lr")->origin == "--set train.lr=1e-3");
  CHECK(c.entries()[0].key == "train.lr");  // replaced in place
  CHECK(at(c, "train.norm") == "instance");
  CHECK(at(c, "out") == "runs/a b");
  CHECK(at(c, "train.betas").dump() == "[0.9,0.99]");
  CHECK(at(c, "train.name") == "x y");
  CHECK(at(c, "train.flag") == true);
  CHECK(at(c, "when") == "1979-05-27");
  CHECK(at(c, "loss.l1") == 5);
  CHECK(at(c, "loss.gan") == "lsgan");
}

TEST_CASE("toml: malformed overrides are ValueErrors naming the override") {
  TomlConfig c = parse_toml("[train]\nlr = 2e-4\n");
  auto err = [&](const std::string& a) { return error_message<ValueError>([&] { apply_override(c, a); }); };
  CHECK(contains_all(err("train.lr"), {"--set train.lr", "key=value"}));
  CHECK(contains_all(err("=3"), {"malformed key"}));
  CHECK(contains_all(err("a b=3"), {"malformed key"}));
  CHECK(contains_all(err("train.lr="), {"empty value"}));
  CHECK(contains_all(err("x=\"open"), {"malformed value", "end-of-file"}));
  CHECK(contains_all(err("x={a = 1"), {"malformed value"}));
  CHECK(contains_all(err("\"a.b\"=1"), {"malformed key", "contains '.'"}));
  CHECK(contains_all(err("x=[1,"), {"malformed value"}));
  CHECK(contains_all(err("train=1"), {"'train' is a table"}));
  CHECK(contains_all(err("train.lr.x=1"), {"'train.lr' is a value"}));
  CHECK(at(c, "train.lr") == 2e-4);  // untouched by the failures
}

TEST_CASE("toml: read_toml_file names the missing file") {
  asyndgan::test::ScratchDir dir("toml");
  CHECK(contains_all(error_message<IOError>([&] { read_toml_file(dir.file("nope.toml")); }), {"nope.toml"}));
  asyndgan::test::write_bytes(dir.file("bad.toml"), std::vector<char>{'x', ' ', '=', '\n'});
  CHECK(contains_all(error_message<FormatError>([&] { read_toml_file(dir.file("bad.toml")); }), {"bad.toml:1"}));
}
