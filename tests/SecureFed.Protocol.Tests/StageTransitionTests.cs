using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

public class StageTransitionTests
{
    public static TheoryData<SecAggStage, SecAggStage> AllPairs()
    {
        var data = new TheoryData<SecAggStage, SecAggStage>();
        foreach (var from in Enum.GetValues<SecAggStage>())
        {
            foreach (var to in Enum.GetValues<SecAggStage>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void IsAllowed_EveryPair_OnlyNextStageOrAbortFromWorkingStages(SecAggStage from, SecAggStage to)
    {
        bool terminal = from is SecAggStage.Completed or SecAggStage.Aborted;
        bool expected = !terminal && (to == SecAggStage.Aborted || (int)to == (int)from + 1);
        Assert.Equal(expected, SecAggStageTransitions.IsAllowed(from, to));
    }

    [Fact]
    public void IsAllowed_UnknownStage_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SecAggStageTransitions.IsAllowed((SecAggStage)99, SecAggStage.Aborted));
    }

    public static TheoryData<SecAggStage, SecAggStage> ClientPairs()
    {
        var data = new TheoryData<SecAggStage, SecAggStage>();
        var working = new[] { SecAggStage.AdvertiseKeys, SecAggStage.ShareKeys, SecAggStage.MaskedInput, SecAggStage.ConsistencyCheck, SecAggStage.Unmask };
        foreach (var at in working.Append(SecAggStage.Completed))
        {
            foreach (var message in working)
            {
                data.Add(at, message);
            }
        }

        return data;
    }

    /// <summary>Drives every client to stage <paramref name="at"/> with an honest server, then hands client
    /// silo-00 a server message of stage <paramref name="message"/>: only the real message of its own stage is
    /// accepted; any other throws "expected stage X, received Y" and the client aborts.</summary>
    [Theory]
    [MemberData(nameof(ClientPairs))]
    public void Client_MessageOfEveryStage_AcceptedOnlyInItsOwnStage(SecAggStage at, SecAggStage message)
    {
        using var h = new Harness(3, length: 4);
        SecAggServerMessage real = h.Server.Start();
        if (at >= SecAggStage.ShareKeys)
        {
            var advertised = h.Advertise();
            real = advertised;
            if (at >= SecAggStage.MaskedInput)
            {
                var deliveries = h.Share(advertised);
                real = deliveries["silo-00"];
                if (at >= SecAggStage.ConsistencyCheck)
                {
                    var check = h.Mask(deliveries);
                    real = check;
                    if (at >= SecAggStage.Unmask)
                    {
                        var request = h.Sign(check);
                        real = request;
                        if (at == SecAggStage.Completed)
                        {
                            h.Unmask(request);
                        }
                    }
                }
            }
        }

        var client = h.Clients["silo-00"];
        Assert.Equal(at, client.Stage);
        SecAggServerMessage sent = message == at ? real : Dummy(message);
        if (message == at)
        {
            Call(client, sent, h.Inputs["silo-00"]);
            Assert.Equal(at == SecAggStage.Unmask ? SecAggStage.Completed : at + 1, client.Stage);
        }
        else
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => Call(client, sent, h.Inputs["silo-00"]));
            Assert.Equal($"expected stage {at}, received {message}", ex.Message);
            Assert.Equal(at == SecAggStage.Completed ? SecAggStage.Completed : SecAggStage.Aborted, client.Stage);
        }
    }

    public static TheoryData<SecAggStage, SecAggStage> ServerPairs()
    {
        var data = new TheoryData<SecAggStage, SecAggStage>();
        var working = new[] { SecAggStage.AdvertiseKeys, SecAggStage.ShareKeys, SecAggStage.MaskedInput, SecAggStage.ConsistencyCheck, SecAggStage.Unmask };
        foreach (var at in working.Append(SecAggStage.Completed))
        {
            foreach (var message in working)
            {
                if (message != at)
                {
                    data.Add(at, message);
                }
            }
        }

        return data;
    }

    /// <summary>A client message of another stage (late, early or replayed) is refused before anything else and
    /// leaves the server in its stage.</summary>
    [Theory]
    [MemberData(nameof(ServerPairs))]
    public void Server_ClientMessageOfAnotherStage_RefusedAndStateUnchanged(SecAggStage at, SecAggStage message)
    {
        using var h = new Harness(3, length: 4);
        if (at >= SecAggStage.ShareKeys)
        {
            var advertised = h.Advertise();
            if (at >= SecAggStage.MaskedInput)
            {
                var check = at >= SecAggStage.ConsistencyCheck ? h.Mask(h.Share(advertised)) : null;
                if (check is null)
                {
                    h.Share(advertised);
                }
                else if (at >= SecAggStage.Unmask)
                {
                    var request = h.Sign(check);
                    if (at == SecAggStage.Completed)
                    {
                        h.Unmask(request);
                    }
                }
            }
        }

        Assert.Equal(at, h.Server.Stage);
        SecAggClientMessage sent = message switch
        {
            SecAggStage.AdvertiseKeys => new KeyAdvertisement(1, "silo-00", new byte[32], new byte[32], new byte[64]),
            SecAggStage.ShareKeys => new ShareKeysMessage(1, "silo-00", [], new byte[32]),
            SecAggStage.MaskedInput => new MaskedInputMessage(1, "silo-00", new ulong[4]),
            SecAggStage.ConsistencyCheck => new ConsistencySignature(1, "silo-00", new byte[64]),
            SecAggStage.Unmask => new UnmaskResponse(1, "silo-00", [], []),
            _ => throw new ArgumentOutOfRangeException(nameof(message)),
        };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.Receive(sent));
        Assert.Equal($"expected stage {at}, received {message}", ex.Message);
        Assert.Equal(at, h.Server.Stage);
    }

    private static SecAggServerMessage Dummy(SecAggStage stage) => stage switch
    {
        SecAggStage.AdvertiseKeys => new AdvertiseKeysRequest(1),
        SecAggStage.ShareKeys => new AdvertisedKeys(1, []),
        SecAggStage.MaskedInput => new ShareKeysDelivery(1, "silo-00", []),
        SecAggStage.ConsistencyCheck => new ConsistencyCheckRequest(1, []),
        SecAggStage.Unmask => new UnmaskRequest(1, [], [], []),
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };

    private static void Call(SecAggClient client, SecAggServerMessage message, RingVector input)
    {
        switch (message)
        {
            case AdvertiseKeysRequest m:
                client.AdvertiseKeys(m);
                break;
            case AdvertisedKeys m:
                client.ShareKeys(m);
                break;
            case ShareKeysDelivery m:
                client.MaskInput(m, input);
                break;
            case ConsistencyCheckRequest m:
                client.SignConsistency(m);
                break;
            case UnmaskRequest m:
                client.Unmask(m);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(message));
        }
    }
}
