namespace FineTuning.SafeTensors;

/// <summary>The shard index, byte for byte as transformers writes it: <c>json.dumps(index, indent=2, sort_keys=True) + "\n"</c>.</summary>
internal static class ShardIndexJson
{
    internal static string Index(long totalSize, IEnumerable<KeyValuePair<string, string>> sortedWeightMap)
    {
        var writer = new FineTuning.PythonJson.Writer();
        writer.Object([
            ("metadata", w => w.Object([("total_size", w2 => w2.Long(totalSize))])),
            ("weight_map", w => w.Object(sortedWeightMap.Select(p => (p.Key, (Action<FineTuning.PythonJson.Writer>)(w2 => w2.String(p.Value)))))),
        ]);
        return writer + "\n";
    }
}
