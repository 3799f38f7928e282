// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// A property's fractional ownership token. The whole supply is minted once to the
/// platform treasury, which distributes it to investors; there is no later minting,
/// so on-chain supply is a fixed reference for reconciliation.
contract PropertyToken is ERC20 {
    uint8 private immutable _decimals;

    constructor(
        string memory name_,
        string memory symbol_,
        uint256 supply,
        address treasury,
        uint8 decimals_
    ) ERC20(name_, symbol_) {
        _decimals = decimals_;
        _mint(treasury, supply);
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
