using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Protocol;
using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>Maps the protocol's model and training descriptors to the training library's types.</summary>
public static class ModelMapping
{
    /// <summary>The default model kind for a dataset: logistic regression for tabular data, an MLP for digits.</summary>
    public static string DefaultModelKind(string dataset) => dataset == "digits" ? "mlp" : "logreg";

    /// <summary>Descriptor of a model for a dataset shape.</summary>
    public static ModelDescriptor Describe(string kind, int inputDim, int classCount, int hidden = 32) => new(kind, inputDim, classCount, hidden);

    /// <summary>
    /// The model a study declares. The study's model section is authoritative (it is part of the study hash the plan
    /// carries); the plan's descriptor only summarizes it.
    /// </summary>
    /// <exception cref="Studies.StudyFormatException">The declared layers do not fit together (a kernel larger than its feature
    /// map, too many parameters); the message names the key and the fix.</exception>
    public static ModelSpec SpecOf(Studies.Study study)
    {
        ArgumentNullException.ThrowIfNull(study);
        var m = study.Model;
        try
        {
            return m.Kind switch
            {
                "logreg" => ModelSpec.LogisticRegression(study.InputWidth, study.ClassCount),
                "mlp" => ModelSpec.Perceptron(study.InputWidth, study.ClassCount, m.HiddenLayers, ModelSpec.ParseActivation(m.Activation), m.Dropout),
                "cnn" => ModelSpec.Convolutional(
                    new ImageShape(m.InputShape[0], m.InputShape[1], m.InputShape[2]),
                    [.. m.Conv.Select(c => new ConvBlock(c.Channels, c.Kernel, c.Stride, c.Padding, c.Pool))],
                    m.HiddenLayers, study.ClassCount, ModelSpec.ParseActivation(m.Activation), m.Dropout),
                _ => throw new ArgumentException($"unknown model kind '{m.Kind}'"),
            };
        }
        catch (ArgumentException ex)
        {
            throw new Studies.StudyFormatException($"study {study.Name}", "model", $"{ex.Message.Split(" (Parameter", 2)[0]}; change the model section");
        }
    }

    /// <summary>
    /// <paramref name="study"/> with its model section replaced by the defaults of <paramref name="kind"/> (for the
    /// demo's <c>--model</c> on a bundled dataset). The result is another study, with its own hash.
    /// </summary>
    public static Studies.Study WithModelKind(Studies.Study study, string kind)
    {
        ArgumentNullException.ThrowIfNull(study);
        if (study.Model.Kind == kind)
        {
            return study;
        }

        var document = System.Text.Json.Nodes.JsonNode.Parse(study.CanonicalJson)!.AsObject();
        document["model"] = new System.Text.Json.Nodes.JsonObject { ["kind"] = kind };
        return Studies.Study.Parse(document.ToJsonString(), $"study {study.Name} with model {kind}");
    }

    /// <summary>The plan's summary of a model.</summary>
    public static ModelDescriptor Describe(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ModelDescriptor(spec.Kind, spec.InputDim, spec.ClassCount, spec.Hidden);
    }

    /// <summary>
    /// The model a plan trains: its study's, checked against the plan's descriptor and parameter count, so a plan whose
    /// summary disagrees with its (hash-bound) study is refused rather than trained.
    /// </summary>
    /// <exception cref="PolicyRefusedException">The plan's descriptor does not describe the study's model.</exception>
    public static ModelSpec SpecFor(RoundPlan plan, Studies.Study study)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ModelSpec spec;
        try
        {
            spec = SpecOf(study);
        }
        catch (Studies.StudyFormatException ex)
        {
            throw new PolicyRefusedException($"the plan's study declares a model that cannot be built: {ex.Message}");
        }

        if (plan.Model.Kind != spec.Kind || plan.Model.InputDim != spec.InputDim || plan.Model.ClassCount != spec.ClassCount || plan.ParameterCount != spec.ParameterCount)
        {
            throw new PolicyRefusedException(
                $"the plan describes a {plan.Model.Kind} of {plan.ParameterCount} parameters over {plan.Model.InputDim} inputs, but its study declares {spec.Describe()} over {spec.InputDim} inputs");
        }

        return spec;
    }

    /// <summary>The coordinator's server optimizer a study declares.</summary>
    public static ServerOptimizerSettings ServerOptimizerOf(Studies.Study study)
    {
        ArgumentNullException.ThrowIfNull(study);
        var s = study.Training.Server;
        return new ServerOptimizerSettings(s.Kind, s.LearningRate, s.Beta1, s.Beta2, s.Tau);
    }

    /// <summary>The training library's model spec for a descriptor.</summary>
    public static ModelSpec ToSpec(ModelDescriptor model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new ModelSpec(model.Kind, model.InputDim, model.ClassCount, model.Hidden);
    }

    /// <summary>Default local training parameters for a dataset and model.</summary>
    public static TrainingParameters DefaultTraining(string dataset, string kind, long seed)
    {
        var s = TrainingSettings.DefaultFor(dataset, kind);
        return new TrainingParameters(s.Epochs, s.BatchSize, s.LearningRate, seed);
    }

    /// <summary>The local training recipe a study declares.</summary>
    public static TrainingParameters TrainingOf(Studies.Study study, long seed)
    {
        ArgumentNullException.ThrowIfNull(study);
        var t = study.Training;
        return new TrainingParameters(t.Epochs, t.BatchSize, t.LearningRate, seed, t.Optimizer, t.Momentum, t.WeightDecay);
    }

    /// <summary>The training library's settings for protocol training parameters.</summary>
    public static TrainingSettings ToSettings(TrainingParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var settings = new TrainingSettings
        {
            Epochs = p.Epochs, BatchSize = p.BatchSize, LearningRate = p.LearningRate, Seed = unchecked((int)p.Seed),
            Optimizer = p.Optimizer, Momentum = p.Momentum, WeightDecay = p.WeightDecay,
        };
        try
        {
            settings.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new PolicyRefusedException($"the plan's training settings are out of range: {ex.Message.Split(" (Parameter", 2)[0]}");
        }

        return settings;
    }
}

/// <summary>Evaluates global models on the coordinator's held-out set with the training library. One caller at a time.</summary>
public sealed class TrainingModelEvaluator : IModelEvaluator
{
    private readonly ModelSpec _spec;
    private readonly TabularDataset _test;
    private readonly int _seed;

    /// <summary>Creates the evaluator.</summary>
    public TrainingModelEvaluator(ModelDescriptor model, TabularDataset test, int seed)
    {
        _spec = ModelMapping.ToSpec(model);
        _test = test;
        _seed = seed;
    }

    /// <inheritdoc />
    public float[] InitialParameters() => ModelFactory.InitialParameters(_spec, _seed);

    /// <inheritdoc />
    public ModelQuality Evaluate(float[] parameters)
    {
        var r = Evaluator.Evaluate(_spec, parameters, _test);
        return new ModelQuality(r.Accuracy, r.Loss);
    }
}

/// <summary>Trains on one silo's data with the training library. The data stays inside this object.</summary>
public sealed class TorchLocalTrainer : ILocalTrainer
{
    private readonly TabularDataset _data;
    private readonly SemaphoreSlim _torch;

    /// <summary>
    /// Creates the trainer for a silo holding <paramref name="data"/> of the dataset named <paramref name="dataset"/>.
    /// <paramref name="torchGate"/> serialises torch work shared by agents in one process.
    /// </summary>
    public TorchLocalTrainer(string dataset, TabularDataset data, SemaphoreSlim? torchGate = null)
    {
        Dataset = dataset;
        _data = data;
        _torch = torchGate ?? new SemaphoreSlim(1, 1);
    }

    /// <inheritdoc />
    public string Dataset { get; }

    /// <inheritdoc />
    public async Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var spec = ModelMapping.ToSpec(plan.Model);
        if (spec.InputDim != _data.FeatureCount)
        {
            throw new PolicyRefusedException($"the plan's model takes {spec.InputDim} features, this silo's data has {_data.FeatureCount}");
        }

        await _torch.WaitAsync(cancellationToken);
        try
        {
            var result = await Task.Run(() => LocalTrainer.Train(spec, globalParameters, _data, ModelMapping.ToSettings(plan.Training)), cancellationToken);
            return new LocalUpdate(result.Delta, result.Examples) { TrainLoss = result.TrainLoss };
        }
        finally
        {
            _torch.Release();
        }
    }
}
