using FineTuning.Models;
using TorchSharp.Modules;
using Linear = FineTuning.Models.Linear;
using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>ModulesToSaveWrapper</c>: a module trained in full next to the adapters (typically the new classifier
/// head). It keeps the <c>original_module</c> frozen and trains a copy, <c>modules_to_save.default</c>, which the
/// forward uses; state-dict keys are <c>original_module.weight</c> and <c>modules_to_save.default.weight</c>, as in
/// PEFT. The adapter file stores the copy under the wrapped module's own name (<c>classifier.weight</c>).
/// </summary>
public sealed class ModulesToSaveWrapper : nn.Module<Tensor, Tensor>
{
    // Field names are PEFT's attribute names, hence the state-dict keys.
    private nn.Module<Tensor, Tensor> original_module;
    private ModuleDict<nn.Module<Tensor, Tensor>> modules_to_save;

    /// <param name="moduleToSave">The module to train in full; only <see cref="Linear"/> can be copied here.</param>
    /// <exception cref="NotSupportedException">The module is not a Linear.</exception>
    public ModulesToSaveWrapper(nn.Module<Tensor, Tensor> moduleToSave) : base(nameof(ModulesToSaveWrapper))
    {
        ArgumentNullException.ThrowIfNull(moduleToSave);
        // copy.deepcopy(module) in PEFT: no random numbers are drawn.
        var copy = moduleToSave is Linear linear ? linear.DeepCopy()
            : throw new NotSupportedException($"modules_to_save: a {moduleToSave.GetType().Name} cannot be copied; only Linear modules are supported.");
        original_module = moduleToSave;
        modules_to_save = nn.ModuleDict<nn.Module<Tensor, Tensor>>((LoraLinear.DefaultAdapter, copy));
        RegisterComponents();
        SetTrainable(true);
    }

    /// <summary>The module as it was, frozen (used when adapters are disabled).</summary>
    public nn.Module<Tensor, Tensor> OriginalModule => original_module;

    /// <summary>The trained copy (PEFT's <c>modules_to_save["default"]</c>).</summary>
    public nn.Module<Tensor, Tensor> ModuleToSave => modules_to_save[LoraLinear.DefaultAdapter];

    /// <summary>PEFT's <c>disable_adapters</c>: when true the forward uses the original module.</summary>
    public bool DisableAdapters { get; set; }

    /// <summary>The original stays frozen; the copy trains when <paramref name="trainable"/> (false in inference mode).</summary>
    internal void SetTrainable(bool trainable)
    {
        foreach (var p in original_module.parameters()) p.requires_grad = false;
        foreach (var p in ModuleToSave.parameters()) p.requires_grad = trainable;
    }

    /// <param name="x">The wrapped module's input, e.g. (batch, hidden) for a classifier.</param>
    public override Tensor forward(Tensor x) => DisableAdapters ? original_module.forward(x) : ModuleToSave.forward(x);
}
