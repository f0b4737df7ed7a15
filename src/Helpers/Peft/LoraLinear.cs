using FineTuning.Amp;
using FineTuning.Models;
using TorchSharp;
using TorchSharp.Modules;
using Linear = FineTuning.Models.Linear;
using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>lora.Linear</c>: a frozen Linear plus a trainable low-rank update,
/// y = base_layer(x) + scaling · lora_B(lora_A(lora_dropout(x))), with scaling = lora_alpha / r.
/// </summary>
/// <remarks>
/// <para>State-dict keys are PEFT's in-memory names: <c>base_layer.weight</c>, <c>base_layer.bias</c>,
/// <c>lora_A.default.weight</c> (r, in) and <c>lora_B.default.weight</c> (out, r); one adapter, named "default".</para>
/// <para>Construction draws random numbers as PEFT's <c>update_layer</c> does: lora_A and lora_B are built as
/// <c>nn.Linear</c>s (each drawing its Kaiming-uniform init), then A is re-drawn Kaiming-uniform (a = √5) and B set
/// to zero. With B = 0 the layer's output equals the base layer's exactly.</para>
/// <para>Both paths follow <see cref="Autocast"/>: inside a bf16 region the base and the adapter products run in
/// bf16 and the sum comes out in bf16, as PEFT's does under <c>torch.autocast</c>.</para>
/// </remarks>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    /// <summary>PEFT's default adapter name; the only one this library uses.</summary>
    public const string DefaultAdapter = "default";

    // Field names are PEFT's attribute names, hence the state-dict keys; declared in PEFT's order.
    private Linear base_layer;
    private ModuleDict<nn.Module<Tensor, Tensor>> lora_dropout;
    private ModuleDict<Linear> lora_A;
    private ModuleDict<Linear> lora_B;

    /// <summary>Wraps <paramref name="baseLayer"/> (kept as is: frozen by the caller) with a rank-<paramref name="r"/> adapter.</summary>
    /// <param name="baseLayer">The Linear to adapt.</param>
    /// <param name="r">The rank, ≥ 1.</param>
    /// <param name="loraAlpha">The update is scaled by loraAlpha / r (or / √r with <paramref name="useRslora"/>).</param>
    /// <param name="loraDropout">Dropout probability on the adapter's input; 0 uses an identity, as PEFT does.</param>
    /// <param name="initLoraWeights">True: A Kaiming-uniform and B zero (a no-op adapter); false: both left random.</param>
    /// <param name="useRslora">Rank-stabilised scaling, loraAlpha / √r.</param>
    public LoraLinear(Linear baseLayer, int r, double loraAlpha, double loraDropout = 0.0, bool initLoraWeights = true,
                      bool useRslora = false) : base(nameof(LoraLinear))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        if (r <= 0) throw new ArgumentOutOfRangeException(nameof(r), $"`r` should be a positive integer value but the value passed is {r}");
        base_layer = baseLayer;
        R = r;
        LoraAlpha = loraAlpha;
        Scaling = useRslora ? loraAlpha / Math.Sqrt(r) : loraAlpha / r;
        lora_dropout = nn.ModuleDict<nn.Module<Tensor, Tensor>>((DefaultAdapter, loraDropout > 0.0 ? nn.Dropout(loraDropout) : nn.Identity()));
        // As PEFT's update_layer: two nn.Linear constructions (each draws Kaiming-uniform), then reset_lora_parameters.
        var a = new Linear(baseLayer.InFeatures, r, hasBias: false);   // (r, in)
        var b = new Linear(r, baseLayer.OutFeatures, hasBias: false);  // (out, r)
        if (initLoraWeights)
        {
            using var _ = no_grad();
            nn.init.kaiming_uniform_(a.Weight, a: Math.Sqrt(5));
            nn.init.zeros_(b.Weight);
        }
        lora_A = nn.ModuleDict((DefaultAdapter, a));
        lora_B = nn.ModuleDict((DefaultAdapter, b));
        // The adapter lives where the base weight lives (PEFT's _move_adapter_to_device_of_base_layer), in fp32.
        if (baseLayer.Weight.device_type != DeviceType.CPU)
        {
            a.to(baseLayer.Weight.device);
            b.to(baseLayer.Weight.device);
        }
        RegisterComponents();
    }

    /// <summary>The frozen layer being adapted (PEFT's <c>get_base_layer()</c>).</summary>
    public Linear BaseLayer => base_layer;

    /// <summary>A, (r, in): projects the input down to rank r.</summary>
    public Linear LoraA => lora_A[DefaultAdapter];

    /// <summary>B, (out, r): projects back up; zero at the start.</summary>
    public Linear LoraB => lora_B[DefaultAdapter];

    public int R { get; }
    public double LoraAlpha { get; }

    /// <summary>The factor on B·A: lora_alpha / r (or / √r for rsLoRA).</summary>
    public double Scaling { get; }

    /// <summary>True once <see cref="Merge"/> has folded the update into the base weight.</summary>
    public bool Merged { get; private set; }

    /// <summary>PEFT's <c>disable_adapters</c>: when true the layer is its base layer (the update is ignored).</summary>
    public bool DisableAdapters { get; set; }

    /// <param name="x">(..., in)</param>
    /// <returns>(..., out)</returns>
    public override Tensor forward(Tensor x)
    {
        if (DisableAdapters && Merged) Unmerge();
        if (DisableAdapters || Merged) return base_layer.forward(x);
        var result = base_layer.forward(x); // (..., out); bf16 inside an autocast region
        var resultType = result.dtype;
        var update = LoraB.forward(LoraA.forward(lora_dropout[DefaultAdapter].forward(x))); // (..., r) → (..., out)
        result = result + update * Scaling;
        return result.dtype == resultType ? result : result.to_type(resultType);
    }

    /// <summary>PEFT's <c>get_delta_weight</c>: scaling · B·A, (out, in), in the base weight's dtype (computed in
    /// fp32 for half-precision weights, as PEFT does on the CPU).</summary>
    public Tensor GetDeltaWeight()
    {
        using var scope = NewDisposeScope();
        var weightType = base_layer.Weight.dtype;
        var b = LoraB.Weight.detach();
        var a = LoraA.Weight.detach();
        if (weightType is ScalarType.Float16 or ScalarType.BFloat16)
        {
            b = b.to_type(ScalarType.Float32);
            a = a.to_type(ScalarType.Float32);
        }
        var delta = (b.matmul(a) * Scaling).to_type(weightType); // (out, r)·(r, in) = (out, in)
        return delta.MoveToOuterDisposeScope();
    }

    /// <summary>PEFT's <c>merge()</c>: W += scaling · B·A, after which the layer computes base_layer(x) alone (the
    /// same outputs, one matmul fewer). Does nothing when already merged.</summary>
    public void Merge()
    {
        if (Merged) return;
        using var _ = no_grad();
        using var delta = GetDeltaWeight();
        base_layer.Weight.add_(delta);
        Merged = true;
    }

    /// <summary>PEFT's <c>unmerge()</c>: W -= scaling · B·A, restoring the base weight (up to float rounding).</summary>
    public void Unmerge()
    {
        if (!Merged) return;
        using var _ = no_grad();
        using var delta = GetDeltaWeight();
        base_layer.Weight.sub_(delta);
        Merged = false;
    }
}
