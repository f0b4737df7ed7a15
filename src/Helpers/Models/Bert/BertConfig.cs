// TEMPORARY stub, replaced by the full BertConfig (branch bertconfig).
namespace FineTuning.Models.Bert;
public sealed record BertConfig
{
    public int VocabSize { get; init; } = 30522;
    public int HiddenSize { get; init; } = 768;
    public int NumHiddenLayers { get; init; } = 12;
    public int NumAttentionHeads { get; init; } = 12;
    public int IntermediateSize { get; init; } = 3072;
    public string HiddenAct { get; init; } = "gelu";
    public double HiddenDropoutProb { get; init; } = 0.1;
    public double AttentionProbsDropoutProb { get; init; } = 0.1;
    public int MaxPositionEmbeddings { get; init; } = 512;
    public int TypeVocabSize { get; init; } = 2;
    public double InitializerRange { get; init; } = 0.02;
    public double LayerNormEps { get; init; } = 1e-12;
    public int? PadTokenId { get; init; } = 0;
    public double? ClassifierDropout { get; init; }
    public IReadOnlyDictionary<int, string> Id2Label { get; init; } = new Dictionary<int, string> { [0] = "LABEL_0", [1] = "LABEL_1" };
    public int NumLabels => Id2Label.Count;
    public string? ProblemType { get; init; }
    public IReadOnlyList<string>? Architectures { get; init; }
    public string? TorchDtype { get; init; }
    public BertConfig WithNumLabels(int n) => NumLabels == n ? this : this with { Id2Label = Enumerable.Range(0, n).ToDictionary(i => i, i => $"LABEL_{i}") };
    public static BertConfig FromPretrained(string folder) { var j = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))).RootElement; return new() { HiddenSize = j.GetProperty("hidden_size").GetInt32(), NumHiddenLayers = j.GetProperty("num_hidden_layers").GetInt32(), NumAttentionHeads = 2, IntermediateSize = 512, Id2Label = j.TryGetProperty("id2label", out var l) ? l.EnumerateObject().ToDictionary(p => int.Parse(p.Name), p => p.Value.GetString()!) : new Dictionary<int,string>{[0]="LABEL_0",[1]="LABEL_1"}, Architectures = j.TryGetProperty("architectures", out var a) ? a.EnumerateArray().Select(x => x.GetString()!).ToList() : null }; }
    public IReadOnlyDictionary<string,int> Label2Id { get; init; } = new Dictionary<string,int>();
    public void Save(string folder) => File.WriteAllText(Path.Combine(folder, "config.json"), System.Text.Json.JsonSerializer.Serialize(new { hidden_size = HiddenSize, num_hidden_layers = NumHiddenLayers, architectures = Architectures, id2label = Id2Label.ToDictionary(k => k.Key.ToString(), k => k.Value) }));
}
