namespace SecureFed.Coordinator;

/// <summary>
/// Evaluates a global model on the coordinator's held-out set and provides the initial model. Supplied by the
/// composition root (the CLI binds it to the training library), so the coordinator itself needs no ML runtime.
/// Implementations must be safe to call from one thread at a time.
/// </summary>
public interface IModelEvaluator
{
    /// <summary>The initial global parameters of a new federation.</summary>
    float[] InitialParameters();

    /// <summary>Held-out accuracy and loss of <paramref name="parameters"/>.</summary>
    ModelQuality Evaluate(float[] parameters);

    /// <summary>
    /// Whether the coordinator holds a test set to evaluate on. A study's federation holds none: its metrics come
    /// from the silos' federated evaluation sums, and this evaluator only provides the initial model.
    /// </summary>
    bool HoldsTestData => true;
}

/// <summary>Held-out accuracy in [0, 1] and mean cross-entropy loss.</summary>
public readonly record struct ModelQuality(double Accuracy, double Loss);
