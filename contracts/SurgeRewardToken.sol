// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title The Surge reward token for development chains.
/// @notice A plain ERC-20 whose owner mints; in development the coordinator mints a supply
///         straight into the distributor. A production deployment uses whatever token it pays in.
contract SurgeRewardToken is ERC20, Ownable {
    constructor(address initialOwner) ERC20("Surge Reward", "SURGE") Ownable(initialOwner) {}

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
