using System.Text;

namespace FineTuning.SafeTensors;

/// <summary>
/// Writes the shard index byte for byte as transformers does: <c>json.dumps(index, indent=2, sort_keys=True) + "\n"</c>,
/// i.e. two-space indents, <c>": "</c> separators and ASCII-only strings (<c>ensure_ascii</c>: lowercase <c>\uXXXX</c>).
/// </summary>
internal static class PythonJson
{
    internal static string Index(long totalSize, IEnumerable<KeyValuePair<string, string>> sortedWeightMap)
    {
        var sb = new StringBuilder();
        sb.Append("{\n  \"metadata\": {\n    \"total_size\": ").Append(totalSize).Append("\n  },\n  \"weight_map\": {");
        bool first = true;
        foreach (var (name, file) in sortedWeightMap)
        {
            sb.Append(first ? "\n" : ",\n").Append("    ");
            String(sb, name).Append(": ");
            String(sb, file);
            first = false;
        }
        // Python writes an empty dict as {} even when indenting.
        sb.Append(first ? "}\n}\n" : "\n  }\n}\n");
        return sb.ToString();
    }

    static StringBuilder String(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4"));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"');
    }
}
