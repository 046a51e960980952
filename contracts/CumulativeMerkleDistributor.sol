// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title Pays each account the cumulative amount in the latest active Merkle root, minus what it claimed.
/// @notice Every epoch the coordinator posts the root of a tree of (account, cumulativeAmount)
///         leaves, OpenZeppelin StandardMerkleTree encoding:
///         keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount)))).
///         A posted root becomes active `activationDelay` seconds later; until then a guardian
///         can revoke it. Claims prove against the newest active, unrevoked root, so a missed
///         claim is never lost: the next root carries the same or a larger cumulative amount.
contract CumulativeMerkleDistributor is AccessControl, Pausable {
    using SafeERC20 for IERC20;

    /// Posts roots (the coordinator's root-poster key).
    bytes32 public constant UPDATER_ROLE = keccak256("UPDATER_ROLE");
    /// Revokes pending roots and pauses claims.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    struct Root {
        bytes32 root;
        uint64 epoch;
        uint64 activeAt;
        bool revoked;
    }

    IERC20 public immutable token;
    uint64 public immutable activationDelay;

    /// Every root posted, oldest first.
    Root[] private _roots;
    mapping(address account => uint256 amount) public claimed;

    event RootPosted(uint64 indexed epoch, bytes32 root, uint64 activeAt);
    event RootRevoked(uint64 indexed epoch, bytes32 root);
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);

    error EpochNotIncreasing(uint64 epoch, uint64 lastEpoch);
    error UnknownEpoch(uint64 epoch);
    error RootAlreadyActive(uint64 epoch);
    error NoActiveRoot();
    error InvalidProof();

    constructor(IERC20 token_, uint64 activationDelay_, address admin, address updater) {
        token = token_;
        activationDelay = activationDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GUARDIAN_ROLE, admin);
        _grantRole(UPDATER_ROLE, updater);
    }

    /// Posts the root of `epoch`; it becomes active after the delay. Epochs strictly increase,
    /// so an epoch posted twice (a coordinator that crashed after sending) reverts.
    function postRoot(bytes32 root, uint64 epoch) external onlyRole(UPDATER_ROLE) {
        uint64 last = lastEpoch();
        if (epoch <= last) revert EpochNotIncreasing(epoch, last);
        uint64 activeAt = uint64(block.timestamp) + activationDelay;
        _roots.push(Root({root: root, epoch: epoch, activeAt: activeAt, revoked: false}));
        emit RootPosted(epoch, root, activeAt);
    }

    /// Revokes a root that is not active yet; claims keep using the previous active root.
    function revokeRoot(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        for (uint256 i = _roots.length; i > 0; i--) {
            Root storage r = _roots[i - 1];
            if (r.epoch == epoch) {
                if (r.activeAt <= block.timestamp) revert RootAlreadyActive(epoch);
                r.revoked = true;
                emit RootRevoked(epoch, r.root);
                return;
            }
            if (r.epoch < epoch) break;
        }
        revert UnknownEpoch(epoch);
    }

    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// The newest epoch posted (0 when none).
    function lastEpoch() public view returns (uint64) {
        return _roots.length == 0 ? 0 : _roots[_roots.length - 1].epoch;
    }

    /// The root posted for `epoch`, with when it becomes active and whether it was revoked.
    function rootOf(uint64 epoch) external view returns (bytes32 root, uint64 activeAt, bool revoked) {
        for (uint256 i = _roots.length; i > 0; i--) {
            Root storage r = _roots[i - 1];
            if (r.epoch == epoch) return (r.root, r.activeAt, r.revoked);
            if (r.epoch < epoch) break;
        }
        revert UnknownEpoch(epoch);
    }

    /// The root claims prove against now: the newest one that is active and not revoked.
    /// The walk back only passes roots still in their delay or revoked ones.
    function activeRoot() public view returns (bytes32 root, uint64 epoch) {
        for (uint256 i = _roots.length; i > 0; i--) {
            Root storage r = _roots[i - 1];
            if (!r.revoked && r.activeAt <= block.timestamp) return (r.root, r.epoch);
        }
        revert NoActiveRoot();
    }

    /// Pays `account` its `cumulativeAmount` in the active root minus what it has claimed
    /// (nothing when it has claimed that much already). Anyone may send it; tokens go to `account`.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external whenNotPaused returns (uint256 paid) {
        (bytes32 root,) = activeRoot();
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof();
        uint256 already = claimed[account];
        if (cumulativeAmount <= already) return 0;
        paid = cumulativeAmount - already;
        claimed[account] = cumulativeAmount;
        emit Claimed(account, paid, cumulativeAmount);
        token.safeTransfer(account, paid);
    }
}
